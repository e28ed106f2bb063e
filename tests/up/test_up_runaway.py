"""A runaway actor on `edgehost up`'s own board: stopped at the deadline while the board serves
on; up still stops at Ctrl-C, and a killed up leaves no process behind."""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest
from support.commands import COMMAND_TIMEOUT
from support.up import EDGEHOST, UpProcess, descendants, free_port, running, still_running

from edgecli import actorbuild

pytestmark = pytest.mark.nats


def run(env: dict[str, str], argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EDGEHOST, *argv], env=env, capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT)


def board_command(lines: list[str]) -> list[str]:
    """`edgehost board --nats … --key-file …` as up prints it under "try:"."""
    printed = next(line.strip() for line in lines if " board --nats " in line)
    return shlex.split(printed)[1:-1]  # without the program and its `info`


class RunawayUp:
    """`edgehost up` with the runaway actor installed on its board through `board --nats`."""

    def __init__(self, env: dict[str, str], state: Path):
        self.env = env
        self.sim_log = state / "sim.log"
        self.up = UpProcess(env, "--nats-port", str(free_port()))
        self.callers: list[subprocess.Popen] = []
        try:
            self.lines = self.up.summary()
            self.board = board_command(self.lines)
            module = actorbuild.build_actor(actorbuild.SOURCES / "runaway.c")
            done = run(env, [*self.board, "install", "--dev-sign", str(module)])
            assert done.returncode == 0, done.stderr
        except BaseException:
            self.close()
            raise

    def start_spinning(self) -> None:
        """A call that never returns, once the board has begun it."""
        self.callers.append(subprocess.Popen(
            [EDGEHOST, *self.board, "call", "runaway", "LogThenSpin"], env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        limit = time.monotonic() + COMMAND_TIMEOUT
        while "spinning" not in self.sim_log.read_text(errors="replace"):
            assert time.monotonic() < limit, "the actor never began to spin"
            time.sleep(0.05)

    def close(self) -> None:
        for caller in self.callers:
            caller.kill()
            caller.wait()
        if self.up.process.poll() is None:
            self.up.process.kill()


@pytest.fixture
def runaway_up(up_env, tmp_path):
    started: list[RunawayUp] = []

    def start() -> RunawayUp:
        started.append(RunawayUp(up_env, tmp_path / "state"))
        return started[-1]

    yield start
    for each in started:
        each.close()


def test_a_runaway_call_on_ups_board_is_stopped_and_ctrl_c_still_stops_up(runaway_up, up_env):
    upped = runaway_up()
    spun = run(up_env, [*upped.board, "call", "runaway", "Spin"])  # the CLI's default timeout
    assert spun.returncode == 1
    assert re.fullmatch(r"edgehost: board sim: runaway Spin: actor M\w{55}: trapped in "
                        r"Spin: deadline exceeded\n", spun.stderr), spun.stderr
    greet = shlex.split(next(line.strip() for line in upped.lines if " call " in line))[1:]
    greeted = run(up_env, greet)  # the board serves on, through the lattice too
    assert greeted.returncode == 0 and greeted.stdout.endswith("world!"), greeted
    counted = run(up_env, [*upped.board, "call", "runaway", "Count"])
    assert (counted.returncode, counted.stdout) == (0, "\x01"), counted

    upped.start_spinning()
    started = descendants(upped.up.process.pid)
    code = upped.up.interrupt()  # at once, not after the deadline nor a kill
    assert (code, still_running(started)) == (130, [])
    assert [pid for pid in started if Path(f"/proc/{pid}").exists()] == []  # nor a zombie


def test_a_killed_up_leaves_no_process_and_the_next_up_starts(runaway_up):
    upped = runaway_up()
    upped.start_spinning()
    started = descendants(upped.up.process.pid)
    assert started  # nats-server, the simulator and whatever runs its actors
    upped.up.process.send_signal(signal.SIGKILL)
    upped.up.process.wait()
    limit = time.monotonic() + COMMAND_TIMEOUT
    while any(running(pid) for pid in started) and time.monotonic() < limit:
        time.sleep(0.05)
    assert still_running(started) == []
    again = runaway_up()  # the flash and the ports are free again
    assert any(line.startswith("board sim (simulated, ") for line in again.lines)
    assert again.up.interrupt() == 130
