"""The benchmarks of the link and of board commands over it (tools/bench/) still run to the end:
short runs, their figures not judged (docs/PERFORMANCE.md and docs/RELIABILITY.md have them)."""

from __future__ import annotations

from support.bench import short_run


def test_the_link_benchmark_completes_a_short_run():
    run = short_run("link_throughput.py", "--bauds", "115200,921600", "--size", 40 * 1024,
                    "--rounds", 3, "--cpu-frames", 5)
    assert run.last_line.startswith("wire_efficiency=")
    assert run.number("wire_efficiency") > 0


def test_the_link_soak_completes_a_short_run(actors):
    run = short_run("link_soak.py", "--calls", 200)
    assert run.last_line == "soak_clean=1"


def test_the_board_call_benchmark_completes_a_short_run(actors):
    run = short_run("board_call.py", "--calls", 20, "--warmup", 2, "--link-rounds", 10)
    assert run.last_line.startswith("board_call_ratio=")
    assert run.number("board_call_ratio") > 0


def test_the_call_soak_completes_a_short_run(actors):
    run = short_run("call_soak.py", "--runs", 1, "--calls", 3)  # each call is its own process
    assert run.last_line == "call_soak_clean=1"


def test_the_module_install_benchmark_completes_a_short_run(actors):
    # the 2 MiB module over a line ten times as fast: the same steps in a tenth of the time
    run = short_run("module_install.py", "--baud", 10_000_000)
    assert run.last_line.startswith("module_install_ratio=")
    assert run.number("module_install_ratio") > 0
