"""Fixtures for the claims tests: a private keys folder and the edgehost command run in-process."""

from __future__ import annotations

import pytest

from edgecli.main import main


@pytest.fixture(autouse=True)
def keys_dir(tmp_path, monkeypatch):
    """Generated seeds go to a temporary folder, never to ~/.edgehost/keys."""
    path = tmp_path / "keys"
    monkeypatch.setenv("EDGEHOST_KEYS_DIR", str(path))
    return path


class Outcome:
    def __init__(self, code: int, out: str, err: str):
        self.code = code
        self.out = out
        self.err = err


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
