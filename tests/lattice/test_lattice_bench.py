"""The lattice benchmarks (tools/bench/) still run to the end: short runs, each on its own
nats-server, their figures not judged (docs/PERFORMANCE.md and docs/RELIABILITY.md have them)."""

from __future__ import annotations

import pytest
from support.bench import short_run

pytestmark = pytest.mark.nats


def test_the_lattice_call_benchmark_completes_a_short_run(actors):
    run = short_run("lattice_call.py", "--calls", 50, "--boards", 4)
    assert run.last_line.startswith("boards_per_gateway=4 ")
    assert run.number("lattice_rtt_ratio") > 0 and run.number("calls_per_s") > 0


def test_the_provider_call_benchmark_completes_a_short_run(actors):
    run = short_run("provider_call.py", "--calls", 20)
    assert run.last_line.startswith("board_provider_ratio=")
    assert run.number("board_provider_ratio") > 0 and run.number("native_provider_ratio") > 0


def test_the_lattice_link_soak_completes_a_short_run(actors):
    run = short_run("link_soak.py", "--calls", 100, "--lattice")
    assert run.last_line == "soak_clean=1"
