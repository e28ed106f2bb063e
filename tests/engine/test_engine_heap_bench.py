"""The heap measurements on the board's 32-bit MicroPython (tools/bench/actor_heap.py,
frozen_heap.py, fill_heap.py) still run to the end: short runs, each printing its figure, the
figures not judged (docs/PERFORMANCE.md has them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "tools" / "bench"

pytestmark = pytest.mark.micropython


def run(script: str, *args: str) -> dict[str, str]:
    done = subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True,
                          text=True, timeout=600, cwd=BENCH)
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)


def test_the_actor_heap_measurement_completes(actors, sim_micropython):
    figures = run("actor_heap.py", "--actors", "echo,rust_greeter,rust_code_small")
    assert float(figures["engine_bytes_per_code_byte"]) > 0


def test_the_frozen_heap_measurement_completes_on_the_32_bit_build(sim_micropython):
    figures = run("frozen_heap.py")
    assert int(figures["frozen_heap_bytes"]) > 0


def test_the_fill_measurement_completes(actors, sim_micropython):
    figures = run("fill_heap.py", "--rounds", "1", "--steps", "6")
    assert int(figures["fill_failures"]) >= 0
