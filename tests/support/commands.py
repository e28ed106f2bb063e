"""The real `edgehost` command for tests, and what the user sees of a run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from edgecli.main import main

EDGEHOST = str(Path(sys.executable).parent / "edgehost")
COMMAND_TIMEOUT = 30.0  # a command that takes longer has hung; no test waits on a clock


class Outcome:
    """What the user sees: the exit status and both output streams."""

    def __init__(self, code: int, out: bytes | str, err: bytes | str):
        self.code = code
        self.out_bytes = out if isinstance(out, bytes) else out.encode()
        self.out = out.decode(errors="replace") if isinstance(out, bytes) else out
        self.err = err.decode(errors="replace") if isinstance(err, bytes) else err

    def __repr__(self) -> str:
        return f"Outcome(code={self.code}, out={self.out!r}, err={self.err!r})"


@pytest.fixture
def edgehost(capsys):
    """Run `edgehost ARGS…` in this process; returns its exit code, stdout and stderr."""

    def run(*argv) -> Outcome:
        capsys.readouterr()
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse usage errors
            code = exc.code
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run
