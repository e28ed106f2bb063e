"""The board's MicroPython and CircuitPython builds say how far make has come: on a terminal a
live line with the file being compiled, elsewhere a line for each step; make's output goes to
the build log."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from cli_paths import COMMAND_TIMEOUT

MAKEFILE = """all:
\t@echo 'CC py/first.c'
\t@echo 'CC py/second.c'
\t@echo 'LINK micropython'
"""
RUN_MAKE = ("import sys; from pathlib import Path; from edgecli.mpbuild import run_make; "
            "run_make(['-C', sys.argv[1]], Path(sys.argv[2]), 'the unix port')")


def make_here(tmp_path, stderr) -> subprocess.Popen:
    (tmp_path / "Makefile").write_text(MAKEFILE)
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "200"}
    return subprocess.Popen([sys.executable, "-c", RUN_MAKE, str(tmp_path),
                             str(tmp_path / "build.log")], stdout=subprocess.PIPE,
                            stderr=stderr, stdin=subprocess.DEVNULL, env=env)


def test_a_make_step_shows_the_file_it_compiles_on_a_terminal(tmp_path):
    master, slave = pty.openpty()
    make = make_here(tmp_path, slave)
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # make's runner ended and closed its end
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    assert make.wait(COMMAND_TIMEOUT) == 0
    assert b"the unix port: py/second.c (2 files)" in shown, shown
    assert "LINK micropython" in (tmp_path / "build.log").read_text()


def test_elsewhere_a_line_names_the_step(tmp_path):
    make = make_here(tmp_path, subprocess.PIPE)
    _, err = make.communicate(timeout=COMMAND_TIMEOUT)
    assert (make.returncode, err) == (0, b"edgehost: the unix port\n")
    assert "CC py/second.c" in (tmp_path / "build.log").read_text()
