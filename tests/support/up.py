"""`edgehost up` as its own process, for the tests that run it as a user does."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

from support.commands import EDGEHOST

UP_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class UpProcess:
    """`edgehost up --no-status ARGS…`; `summary()` reads what it prints until "Ctrl-C …"."""

    def __init__(self, env: dict[str, str], *args: str, command: str = EDGEHOST,
                 cwd: Path | None = None):
        self.process = subprocess.Popen([command, "up", "--no-status", *args], env=env, cwd=cwd,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, stdin=subprocess.DEVNULL)

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
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(30)
        finally:
            if self.process.poll() is None:
                self.process.kill()
