"""The engine's benchmarks (tools/bench/) still run to the end: short runs, their figures not
judged (docs/PERFORMANCE.md has them)."""

from __future__ import annotations

import pytest
from boardcode import BOARD_ENGINES, ROOT, board_python
from support.bench import short_run

from edgecli import actorbuild


@pytest.mark.micropython
@pytest.mark.parametrize("runtime", ["micropython", "circuitpython"])
def test_the_engine_benchmark_completes_on_each_board_interpreter(runtime, actors):
    run = short_run("micropython_engine.py", "--calls", 50, "--rounds", 1, "--runtime", runtime,
                    timeout=300)
    assert run.last_line.startswith("host_overhead_ratio=")
    assert run.number("host_overhead_ratio") > 0 and run.number("host_call_ratio") > 0


@pytest.mark.micropython
@pytest.mark.parametrize("engine", BOARD_ENGINES)
def test_the_board_engines_call_timing_completes_on_its_own(engine, request, actors):
    """mp_engine_calls.py as micropython_engine.py runs it, straight on the interpreter."""
    board = board_python(engine, request)
    run = short_run("mp_engine_calls.py", actorbuild.OUTPUT, 50, 64, 1,
                    interpreter=(str(board.binary), "-X", "heapsize=16M"),
                    env={"MICROPYPATH": "%s:%s" % (ROOT / "firmware", ROOT / "shared")})
    assert run.last_line.startswith("heap_grow=")
    for name in ("host_us", "bare_us", "host_relay_us", "bare_relay_us", "heap_echo"):
        assert run.number(name) > 0


def test_the_wapc_benchmark_completes_under_cpython_and_pywasm3(actors):
    run = short_run("wapc_call.py", "--calls", 200, "--rounds", 1)
    assert run.last_line.startswith("host_overhead_ratio=")
    assert run.number("host_overhead_ratio") > 0 and run.number("host_call_ratio") > 0
