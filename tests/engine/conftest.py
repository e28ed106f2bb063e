"""Fixtures for the engine tests: the board's MicroPython and CircuitPython (unix ports with the
wasm3 module), built from the pinned sources by edgecli.mpbuild and edgecli.cpbuild, and a
runner for the host's scenarios on each engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from boardcode import BOARD_ENGINES, board_python, scenario_lines

from edgecli import actorbuild, cpbuild, mpbuild


def _built(ensure_built) -> Path:
    try:
        return ensure_built()
    except mpbuild.MicroPythonBuildError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def board_micropython() -> Path:
    """The MicroPython binary with the wasm3 module (built on first use, then cached)."""
    return _built(mpbuild.ensure_built)


@pytest.fixture(scope="session")
def sim_micropython() -> Path:
    """The MicroPython `sim --micropython` runs: the board's, built 32-bit as an ESP32 is
    (built on first use, then cached; before a simulator's start-up wait begins)."""
    return _built(mpbuild.board_build)


@pytest.fixture(scope="session")
def board_circuitpython() -> Path:
    """The CircuitPython binary with the wasm3 module (built on first use, then cached)."""
    return _built(cpbuild.ensure_built)


ENGINES = ["pywasm3", *BOARD_ENGINES]  # and the simulator's


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    return request.param


def _scenario_runner(engine: str, request, tmp_path: Path):
    actors_dir = str(actorbuild.OUTPUT)

    def run(name: str) -> list[str]:
        if engine == "pywasm3":
            import host_scenarios

            lines: list[str] = []
            host_scenarios.run(name, actors_dir, lines.append)
            return lines
        return scenario_lines(board_python(engine, request), name, tmp_path)

    return run


@pytest.fixture
def scenario(engine, actors, request, tmp_path):
    """scenario(name) -> the lines host_scenarios.run(name) prints on the engine under test."""
    return _scenario_runner(engine, request, tmp_path)


@pytest.fixture(params=BOARD_ENGINES)
def board_scenario(actors, request, tmp_path):
    """scenario(name), on the board's engine only (for what pywasm3 cannot do)."""
    return _scenario_runner(request.param, request, tmp_path)
