"""The README's example test file for the pytest plugin, run as written from a folder of its
own, on the simulated board."""

from __future__ import annotations

from support.pytestruns import run_pytest, summary
from support.readmeexample import pytest_example


def test_the_readmes_pytest_example_passes_as_written(tmp_path):
    (tmp_path / "test_on_board.py").write_text(pytest_example())
    done = run_pytest(tmp_path)
    assert summary(done) == "5 passed", done.stdout + done.stderr
