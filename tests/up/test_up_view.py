"""`edgehost up` on a terminal: the live view names the actors with their health and calls,
keeps the "try:" hints in sight, and fits a terminal that narrows; up says where its logs are,
and a second run keeps the first one's logs."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time

import pytest
from support.up import EDGEHOST, UP_TIMEOUT, UpProcess, free_port

pytestmark = pytest.mark.nats

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


class UpOnTerminal(UpProcess):
    """`edgehost up` with a pseudo-terminal for its output, COLS columns wide."""

    def __init__(self, env: dict[str, str], cols: int, *args: str):
        self.master, slave = pty.openpty()
        self.resize(cols, slave)
        env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
        self.process = subprocess.Popen([EDGEHOST, "up", *args], stdin=subprocess.DEVNULL,
                                        stdout=slave, stderr=slave, env={**env, "TERM": "xterm"},
                                        start_new_session=True)
        os.close(slave)
        self.text = ""

    def resize(self, cols: int, fd: int | None = None) -> None:
        fcntl.ioctl(self.master if fd is None else fd, termios.TIOCSWINSZ,
                    struct.pack("HHHH", 50, cols, 0, 0))

    def frame_where(self, check) -> list[str]:
        """The lines of the first view drawn from now on that `check(lines)` accepts."""
        start = len(self.text)
        deadline = time.monotonic() + UP_TIMEOUT  # a hang guard, not a measure
        while time.monotonic() < deadline:
            if select.select([self.master], [], [], 1)[0]:
                try:
                    self.text += os.read(self.master, 65536).decode(errors="replace")
                except OSError:
                    break
            shown = ANSI.sub("", self.text[start:])
            frames = re.split(r"edgehost up *\n", shown)  # the table's title starts a view
            for frame in frames[1:-1]:  # whole views only: each is followed by the next
                lines = [line.rstrip() for line in
                         frame.split("Ctrl-C stops everything")[0].splitlines()]
                if check(lines):
                    return lines
        raise AssertionError(f"no such view; the terminal shows:\n{ANSI.sub('', self.text)}")

    def interrupt(self) -> int:
        try:
            return super().interrupt()
        finally:
            os.close(self.master)


def greeter_row(lines: list[str]) -> str:
    return next((line for line in lines if "greeter" in line), "")


def test_the_live_view_shows_actors_health_calls_and_hints_at_any_width(up_env):
    port = free_port()
    up = UpOnTerminal(up_env, 120, "--nats-port", str(port))
    try:
        wide = up.frame_where(lambda lines: greeter_row(lines) != "")
        assert re.search(r"greeter\s*│\s*(healthy|unchecked)\s*│\s*0\s*│\s*0\s*│",
                         greeter_row(wide)), wide
        assert any(line.startswith("try:") for line in wide), wide
        done = subprocess.run([EDGEHOST, "call", "--nats", f"nats://127.0.0.1:{port}",
                               "greeter", "Greet", "view"], env=up_env, capture_output=True,
                              text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        counted = up.frame_where(lambda lines: re.search(
            r"greeter\s*│\s*\w+\s*│\s*1\s*│\s*0\s*│", greeter_row(lines)))
        assert any(line.startswith("try:") for line in counted)

        up.resize(60)
        narrow = up.frame_where(lambda lines: "calls ok" not in "".join(lines)
                                and greeter_row(lines) != "")
        assert re.search(r"greeter\s*│\s*(healthy|unchecked)\s*│\s*1/0", greeter_row(narrow))
        assert all(len(line) <= 60 for line in narrow), narrow
        assert any(line.startswith("try:") for line in narrow), narrow
    finally:
        assert up.interrupt() == 130


def test_up_says_where_its_logs_are_and_a_restart_keeps_the_last_ones(up_env, tmp_path):
    state = tmp_path / "state"
    hosts = []
    for _ in range(2):
        up = UpProcess(up_env, "--nats-port", str(free_port()))
        try:
            lines = up.summary()
        finally:
            assert up.interrupt() == 130
        [logs] = [line for line in lines if line.startswith("logs")]
        assert (f"gateway {state}/gateway.log, board {state}/sim.log, nats-server "
                f"{state}/nats/nats-server.log") in logs
        hosts.append(re.search(r"is host (N\w{55})", "\n".join(lines))[1])
        assert f"board sim: host {hosts[-1]} started" in (state / "gateway.log").read_text()
    # each start is a new host; the first run's log is kept beside the second's
    assert f"board sim: host {hosts[0]} started" in (state / "gateway.log.1").read_text()
    assert (state / "sim.log.1").exists()
