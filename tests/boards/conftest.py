"""Fixtures for the board set-up commands: the real `edgehost`, and the MicroPython unix port
(with the wasm3 module, the host code frozen in or not) as a board on a pseudo-terminal."""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import pytest
from support.commands import COMMAND_TIMEOUT, EDGEHOST, Outcome
from support.unixboard import UnixBoard

from edgecli import mpbuild


@pytest.fixture
def edgehost():
    """Run `edgehost ARGS…` (env: variables to add; path: PATH to use instead)."""

    def run(*argv: object, env: dict[str, str] | None = None,
            path: str | None = None) -> Outcome:
        environ = {**os.environ, **(env or {})}
        if path is not None:
            environ["PATH"] = path
        done = subprocess.run([EDGEHOST, *map(str, argv)], capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT * 4, env=environ,
                              stdin=subprocess.DEVNULL)
        return Outcome(done.returncode, done.stdout, done.stderr)

    return run


def _binary(frozen: bool) -> Path:
    try:
        return mpbuild.ensure_built(frozen=frozen)
    except mpbuild.MicroPythonBuildError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def unix_board(tmp_path):
    """unix_board(frozen=False, folder=NAME, args=()): the unix port's REPL on a pty; all stopped
    after."""
    with contextlib.ExitStack() as started:

        def start(frozen: bool = False, folder: str = "board",
                  args: tuple[str, ...] = ()) -> UnixBoard:
            board = UnixBoard(_binary(frozen), tmp_path / folder, args=args)
            started.callback(board.stop)
            return board

        yield start


@pytest.fixture
def boot(tmp_path):
    """boot(folder, frozen): run the board's main.py from what is in `folder` (its files, or the
    frozen host code), as the board does at power-up; stopped after the test."""
    with contextlib.ExitStack() as started:

        def start(folder: Path, frozen: bool = False) -> subprocess.Popen:
            env = {k: v for k, v in os.environ.items() if k != "MICROPYPATH"}
            log = started.enter_context((tmp_path / "boot.log").open("a"))
            # -m: main.py runs as __main__, as the board runs it after boot.py
            proc = subprocess.Popen([str(_binary(frozen)), "-m", "main"], cwd=folder,
                                    env=env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT)
            started.callback(proc.wait)
            started.callback(proc.kill)
            return proc

        yield start
