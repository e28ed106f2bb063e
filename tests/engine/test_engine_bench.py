"""The board engine's benchmark (tools/bench/micropython_engine.py) still runs to the end on
both board interpreters: a short run, its figures not judged (docs/PERFORMANCE.md has them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "tools" / "bench" / "micropython_engine.py"


@pytest.mark.micropython
@pytest.mark.parametrize("runtime", ["micropython", "circuitpython"])
def test_the_engine_benchmark_completes_on_each_board_interpreter(runtime, actors):
    done = subprocess.run([sys.executable, str(BENCH), "--calls", "50", "--rounds", "1",
                           "--runtime", runtime], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    assert float(figures["host_overhead_ratio"]) > 0
