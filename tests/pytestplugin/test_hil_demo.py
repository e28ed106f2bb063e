"""tools/examples/hil-demo, a user's layout (a C actor of its own and its tests), passes on the
simulated board from a folder of its own."""

from __future__ import annotations

import shutil
from pathlib import Path

from support.pytestruns import run_pytest, summary

DEMO = Path(__file__).resolve().parents[2] / "tools" / "examples" / "hil-demo"


def test_the_hil_demo_passes_on_the_simulated_board(tmp_path):
    project = tmp_path / "hil-demo"
    shutil.copytree(DEMO, project, ignore=shutil.ignore_patterns("__pycache__"))
    done = run_pytest(project)
    assert summary(done) == "8 passed", done.stdout + done.stderr
