"""A runaway actor on `edgehost up`'s own board: stopped at the deadline while the board serves
on; up still stops at Ctrl-C, and a killed up leaves no process behind."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest
from support.commands import COMMAND_TIMEOUT
from support.up import EDGEHOST, UpProcess, free_port

from edgecli import actorbuild

pytestmark = pytest.mark.nats


@pytest.fixture
def up_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WASMCLOUD_")}
    env.update(EDGEHOST_STATE_DIR=str(tmp_path / "state"), EDGEHOST_KEYS_DIR=str(tmp_path / "k"))
    return env


def run(env: dict[str, str], argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EDGEHOST, *argv], env=env, capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT)


def board_command(lines: list[str]) -> list[str]:
    """`edgehost board --nats … --key-file …` as up prints it under "try:"."""
    printed = next(line.strip() for line in lines if " board --nats " in line)
    return shlex.split(printed)[1:-1]  # without the program and its `info`


def install_runaway(env: dict[str, str], board: list[str]) -> None:
    module = actorbuild.build_actor(actorbuild.SOURCES / "runaway.c")
    done = run(env, [*board, "install", "--dev-sign", str(module)])
    assert done.returncode == 0, done.stderr


def start_spinning(env: dict[str, str], board: list[str], sim_log: Path) -> subprocess.Popen:
    """A call that never returns, once the board has begun it."""
    caller = subprocess.Popen([EDGEHOST, *board, "call", "runaway", "LogThenSpin"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    limit = time.monotonic() + COMMAND_TIMEOUT
    while "spinning" not in sim_log.read_text(errors="replace"):
        assert time.monotonic() < limit, "the actor never began to spin"
        time.sleep(0.05)
    return caller


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie (one no longer holds ports or locks)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def still_running(started: list[int]) -> list[int]:
    """Those of `started` still running, killed so that a failing run leaves nothing behind."""
    left = [pid for pid in started if running(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return left


def test_a_runaway_call_on_ups_board_is_stopped_and_ctrl_c_still_stops_up(up_env, tmp_path):
    up = UpProcess(up_env, "--nats-port", str(free_port()))
    caller = None
    try:
        lines = up.summary()
        board = board_command(lines)
        install_runaway(up_env, board)

        spun = run(up_env, [*board, "call", "runaway", "Spin"])  # the CLI's default timeout
        assert spun.returncode == 1
        assert re.fullmatch(r"edgehost: board sim: runaway Spin: actor M\w{55}: trapped in "
                            r"Spin: deadline exceeded\n", spun.stderr), spun.stderr
        greet = shlex.split(next(line.strip() for line in lines if " call " in line))[1:]
        greeted = run(up_env, greet)  # the board serves on, through the lattice too
        assert greeted.returncode == 0 and greeted.stdout.endswith("world!"), greeted
        counted = run(up_env, [*board, "call", "runaway", "Count"])
        assert (counted.returncode, counted.stdout) == (0, "\x01"), counted

        caller = start_spinning(up_env, board, tmp_path / "state" / "sim.log")
        started = descendants(up.process.pid)
        code = up.interrupt()  # at once, not after the deadline nor a kill
        assert (code, still_running(started)) == (0, [])
    finally:
        if caller is not None:
            caller.kill()
            caller.wait()
        if up.process.poll() is None:
            up.process.kill()


def test_a_killed_up_leaves_no_process_and_the_next_up_starts(up_env, tmp_path):
    up = UpProcess(up_env, "--nats-port", str(free_port()))
    caller = None
    try:
        board = board_command(up.summary())
        install_runaway(up_env, board)
        caller = start_spinning(up_env, board, tmp_path / "state" / "sim.log")
        started = descendants(up.process.pid)
        assert started  # nats-server, the simulator and whatever runs its actors
        up.process.send_signal(signal.SIGKILL)
        up.process.wait()
        limit = time.monotonic() + COMMAND_TIMEOUT
        while any(running(pid) for pid in started) and time.monotonic() < limit:
            time.sleep(0.05)
        assert still_running(started) == []
    finally:
        if caller is not None:
            caller.kill()
            caller.wait()
        if up.process.poll() is None:
            up.process.kill()
    again = UpProcess(up_env, "--nats-port", str(free_port()))  # the flash is free again
    try:
        assert any(line.startswith("board sim (simulated, ") for line in again.summary())
    finally:
        assert again.interrupt() == 0
