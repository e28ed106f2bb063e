"""`edgehost up` as its own process, for the tests that run it as a user does."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

EDGEHOST = str(Path(sys.executable).parent / "edgehost")
UP_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class UpProcess:
    """`edgehost up --no-status ARGS…` (or `command` up …) as the foreground job of a terminal
    of its own; `summary()` reads what it prints until "Ctrl-C …"."""

    def __init__(self, env: dict[str, str], *args: str,
                 command: str | Path | tuple[str, ...] = EDGEHOST, cwd: Path | None = None):
        program = list(command) if isinstance(command, tuple) else [str(command)]
        self.process = subprocess.Popen([*program, "up", "--no-status", *args], env=env, cwd=cwd,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, stdin=subprocess.DEVNULL,
                                        start_new_session=True)

    def summary(self) -> list[str]:
        lines = []
        deadline = time.monotonic() + UP_TIMEOUT
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise AssertionError(f"edgehost up ended: {self.process.stderr.read()}")
            lines.append(line.rstrip("\n"))
            if line.startswith("Ctrl-C"):
                return lines
        raise AssertionError("edgehost up printed no summary")

    def interrupt(self) -> int:
        """Ctrl-C as a terminal sends it, to the whole foreground process group; the exit
        status."""
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(30)
        finally:
            if self.process.poll() is None:
                self.process.kill()


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
