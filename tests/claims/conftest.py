"""Fixtures for the claims tests: the edgehost command run in this process."""

from __future__ import annotations

import pytest
from support.commands import Outcome

from edgecli.main import main


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
