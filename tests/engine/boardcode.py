"""Running board code under the board's MicroPython or CircuitPython (the unix ports with the
wasm3 module)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from edgecli import actorbuild, cpbuild

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
HEAP = "64M"  # the unix port's default 2 MB is a small board's; the scenarios move megabytes
BOARD_ENGINES = ["wasm3-micropython", "wasm3-circuitpython"]  # the board's, on each interpreter


class BoardPython:
    """A board interpreter: its name (sys.implementation.name) and binary."""

    def __init__(self, name: str, binary: Path):
        self.name = name
        self.binary = binary

    def path(self, *folders: Path) -> str:
        """MICROPYPATH with the board's code and `folders`, behind the board stand-ins on
        CircuitPython."""
        first = [cpbuild.STAND_INS] if self.name == "circuitpython" else []
        return ":".join(map(str, [*first, ROOT / "firmware", ROOT / "shared", *folders]))


def board_python(engine: str, request) -> BoardPython:
    """The board interpreter of a board engine ("wasm3-micropython", "wasm3-circuitpython"),
    its binary from the session fixture board_micropython or board_circuitpython."""
    runtime = engine.removeprefix("wasm3-")
    return BoardPython(runtime, request.getfixturevalue("board_" + runtime))


def run_board_code(board: BoardPython, code: str, cwd: Path, timeout: float = 60.0) -> list[str]:
    """Run `code` on the board interpreter with firmware/, shared/ and this folder on its
    path; returns its output lines. A non-zero exit or a traceback fails the test."""
    script = cwd / "engine_script.py"
    script.write_text(code)
    env = dict(os.environ, MICROPYPATH=board.path(HERE, Path(".frozen")))
    done = subprocess.run([str(board.binary), "-X", "heapsize=" + HEAP, str(script)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=timeout)
    output = done.stdout + done.stderr
    if done.returncode != 0 or "Traceback (most recent call last)" in output:
        pytest.fail(f"board code failed under {board.name} (exit {done.returncode}):\n{output}",
                    pytrace=False)
    return done.stdout.splitlines()


def scenario_lines(board: BoardPython, name: str, cwd: Path) -> list[str]:
    """The lines host_scenarios.run(name) prints on the board interpreter."""
    return run_board_code(board, "import host_scenarios\nhost_scenarios.run(%r, %r)\n"
                          % (name, str(actorbuild.OUTPUT)), cwd)
