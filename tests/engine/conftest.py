"""Fixtures for the engine tests: the board's MicroPython (unix port with the wasm3 module),
built from the pinned sources by edgecli.mpbuild, and a runner for the host's scenarios on
either engine."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from edgecli import actorbuild, mpbuild

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
HEAP = "64M"  # the unix port's default 2 MB is a small board's; the scenarios move megabytes


@pytest.fixture(scope="session")
def board_micropython() -> Path:
    """The MicroPython binary with the wasm3 module (built on first use, then cached)."""
    try:
        return mpbuild.ensure_built()
    except mpbuild.MicroPythonBuildError as exc:
        pytest.fail(str(exc), pytrace=False)


def run_board_code(binary: Path, code: str, cwd: Path, timeout: float = 60.0) -> list[str]:
    """Run `code` under the board's MicroPython with firmware/, shared/ and this folder on its
    path; returns its output lines. A non-zero exit or a traceback fails the test."""
    script = cwd / "engine_script.py"
    script.write_text(code)
    env = dict(os.environ, MICROPYPATH=":".join(
        [str(ROOT / "firmware"), str(ROOT / "shared"), str(HERE), ".frozen"]))
    done = subprocess.run([str(binary), "-X", "heapsize=" + HEAP, str(script)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=timeout)
    output = done.stdout + done.stderr
    if done.returncode != 0 or "Traceback (most recent call last)" in output:
        pytest.fail(f"board code failed under MicroPython (exit {done.returncode}):\n{output}",
                    pytrace=False)
    return done.stdout.splitlines()


ENGINES = ["pywasm3", "wasm3-micropython"]


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
        binary = request.getfixturevalue("board_micropython")
        return run_board_code(binary, "import host_scenarios\nhost_scenarios.run(%r, %r)\n"
                              % (name, actors_dir), tmp_path)

    return run


@pytest.fixture
def scenario(engine, actors, request, tmp_path):
    """scenario(name) -> the lines host_scenarios.run(name) prints on the engine under test."""
    return _scenario_runner(engine, request, tmp_path)


@pytest.fixture
def board_scenario(actors, request, tmp_path):
    """scenario(name), on the board's engine only (for what pywasm3 cannot do)."""
    return _scenario_runner("wasm3-micropython", request, tmp_path)
