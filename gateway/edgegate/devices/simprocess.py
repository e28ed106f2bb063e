"""`edgehost sim` as a child process: how a program starts a simulated board and finds it.

The first line the simulator prints on stdout says where it serves, in one of two forms:

    edgehost sim: board <board id> on /dev/pts/7
    edgehost sim: board <board id> on tcp://127.0.0.1:40123

`parse_ready_line(line)` turns it into the pty path or "tcp://HOST:PORT" (None for any other
line). The simulator is started as a command, so nothing here imports the command line.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

READY_PREFIX = "edgehost sim: board "
# `edgehost` run as a child of this process, its arguments to follow. The caller's folder stays
# off the child's import path (as `-m` would put it first), so that a folder there named like
# one of our packages, such as the clone itself seen from its parent, is not imported instead.
EDGEHOST_CHILD = [sys.executable, "-c",
                  "import sys; del sys.path[0]; from edgecli.main import main; sys.exit(main())"]


class SimError(Exception):
    """The simulator cannot start; the message says which input is wrong and why."""


def parse_ready_line(line: str) -> str | None:
    """The pty path or tcp:// URL in the simulator's first line, or None."""
    if not line.startswith(READY_PREFIX) or " on " not in line:
        return None
    return line.rsplit(" on ", 1)[1].strip()


class SimProcess:
    """`edgehost sim ARGS…` as a process of its own, for tests, benchmarks and `edgehost up`.

    It waits (at most `start_timeout`) for the ready line and keeps its address in `where`;
    what the simulator writes to stderr goes to `stderr_path` and reads back as `stderr`.
    `stop()` sends SIGTERM, then kills what is still running. The simulator holds a pipe from
    this process and stops when it closes: it does not outlive this process, even killed.
    """

    def __init__(self, args: list[str], stderr_path: Path, start_timeout: float = 15.0):
        self.stderr_path = stderr_path
        command = [*EDGEHOST_CHILD, "sim", "--stop-with-stdin", *args]
        with stderr_path.open("wb") as err:
            # a session of its own: the terminal's Ctrl-C is for this process, which stops
            # the simulator in its turn
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err,
                                            stdin=subprocess.PIPE, start_new_session=True)
        try:
            self.where = self._ready(start_timeout)
        except BaseException:
            self.stop()
            raise

    def _ready(self, timeout: float) -> str:
        # byte by byte under select: a simulator that hangs must not hang its caller
        deadline = time.monotonic() + timeout
        fd = self.process.stdout.fileno()
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise SimError(f"edgehost sim printed no ready line within {timeout:g} s; "
                               f"stderr: {self.stderr}")
            byte = os.read(fd, 1)
            if not byte:
                raise SimError(f"edgehost sim exited before it was ready; stderr: {self.stderr}")
            line += byte
        where = parse_ready_line(line.decode())
        if where is None:
            raise SimError(f"edgehost sim printed {line!r} first; stderr: {self.stderr}")
        return where

    @property
    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    @property
    def board_args(self) -> list[str]:
        """The `edgehost board` options that reach this simulator."""
        if self.where.startswith("tcp://"):
            return ["--tcp", self.where.removeprefix("tcp://")]
        return ["--port", self.where]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()
