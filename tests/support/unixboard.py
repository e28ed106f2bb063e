"""The MicroPython unix port as a board on a serial line: its REPL on a pseudo-terminal.

The interpreter runs on one pty; a relay joins that pty's master to a second pty, whose slave
path is the board's serial port (opened by mpremote or pyserial as they open /dev/ttyACM0). The
board's filesystem is a folder. What stands in for the ESP32: the unix port instead of the
ESP32 port, a folder instead of flash, a relay instead of a USB cable.
"""

from __future__ import annotations

import fcntl
import os
import select
import subprocess
import termios
import threading
import time
import tty
from pathlib import Path


def _own_terminal() -> None:
    """In the child: a session of its own with the pty (its stdin) as controlling terminal, so
    Ctrl-C on the line reaches it as SIGINT."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class UnixBoard:
    """`micropython` (a path to the binary) with its REPL on `self.port`, files in `folder`;
    `args` go to the interpreter (("-i", "-m", "main"): main.py first, then the REPL, as a
    board boots)."""

    def __init__(self, binary: Path | str, folder: Path, micropypath: str | None = None,
                 args: tuple[str, ...] = ()):
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        board_master, board_slave = os.openpty()
        # raw, except that Ctrl-C interrupts what runs (a board's main.py, waiting for its
        # config) as it does on a board; the REPL turns that off while it reads
        tty.setraw(board_slave)
        attrs = termios.tcgetattr(board_slave)
        attrs[3] |= termios.ISIG
        termios.tcsetattr(board_slave, termios.TCSANOW, attrs)
        self._line_master, line_slave = os.openpty()
        tty.setraw(line_slave)
        self.port = os.ttyname(line_slave)
        os.close(line_slave)
        env = dict(os.environ)
        env.pop("MICROPYPATH", None)
        if micropypath is not None:
            env["MICROPYPATH"] = micropypath
        self.proc = subprocess.Popen([str(binary), *args], stdin=board_slave, stdout=board_slave,
                                     stderr=board_slave, cwd=folder, env=env,
                                     preexec_fn=_own_terminal)
        os.close(board_slave)
        self._board_master = board_master
        self._stop = threading.Event()
        self._relay = threading.Thread(target=self._run_relay, daemon=True)
        self._relay.start()

    def _run_relay(self) -> None:
        ends = {self._board_master: self._line_master, self._line_master: self._board_master}
        while not self._stop.is_set():
            ready, _, _ = select.select(list(ends), [], [], 0.1)
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:  # nobody has the line open: what the board says is lost
                    time.sleep(0.01)
                    continue
                if data:
                    os.write(ends[fd], data)
                elif fd == self._board_master:
                    return  # the interpreter exited

    def stop(self) -> None:
        self._stop.set()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._relay.join(5)
        for fd in (self._board_master, self._line_master):
            try:
                os.close(fd)
            except OSError:
                pass
