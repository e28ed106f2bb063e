"""Fixtures for `edgehost board`: real `edgehost sim` processes and the real command, both killed
after each test."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from support.commands import COMMAND_TIMEOUT, EDGEHOST, Outcome
from support.keys import write_key_file
from support.signing import sign_to_file

from edgegate.devices.simprocess import SimProcess

SIM_START_TIMEOUT = 15.0


@pytest.fixture
def key_file(tmp_path) -> Path:
    """A key file for board `sim` (the simulator reads it; `edgehost board` too)."""
    return write_key_file(tmp_path / "board.key", "sim", bytes.fromhex("5a" * 32))


@pytest.fixture
def start_sim(tmp_path, key_file):
    """Start `edgehost sim ARGS…` (default: TCP on a free port, flash in tmp_path/flash)."""
    started: list[SimProcess] = []

    def start(*args: str, tcp: bool = True, key: Path | None = None) -> SimProcess:
        line = ["--tcp", "127.0.0.1:0"] if tcp else ["--pty"]
        argv = [*line, "--key-file", str(key or key_file), "--flash-dir", str(tmp_path / "flash"),
                *args]
        sim = SimProcess(argv, tmp_path / f"sim{len(started)}.err", SIM_START_TIMEOUT)
        started.append(sim)
        return sim

    try:
        yield start
    finally:
        for sim in started:
            sim.stop()


@pytest.fixture
def edgehost():
    """Run the real `edgehost ARGS…` command; never waits longer than COMMAND_TIMEOUT."""

    def run(*argv: object, stdin: bytes | None = None) -> Outcome:
        done = subprocess.run([EDGEHOST, *map(str, argv)], capture_output=True,
                              input=stdin, timeout=COMMAND_TIMEOUT,
                              stdin=None if stdin is not None else subprocess.DEVNULL)
        return Outcome(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def board(edgehost, key_file):
    """`edgehost board --key-file … <where> ARGS…` against a started simulator."""

    def run(sim: SimProcess, *argv: object, timeout: float = 10.0) -> Outcome:
        return edgehost("board", *sim.board_args, "--key-file", key_file,
                        "--timeout", timeout, *argv)

    return run


@pytest.fixture
def signed(actors, tmp_path):
    """Write actor NAME signed with fresh keys to a file; returns (path, module key)."""

    def sign(name: str, call_alias: str | None = None, caps: list[str] | None = None,
             expires_in: int | None = None) -> tuple[Path, str]:
        path = tmp_path / f"{name}_s.wasm"
        return path, sign_to_file(actors[name], path, name, caps, call_alias, expires_in)

    return sign


@pytest.fixture
def unsigned(actors, tmp_path):
    """Write actor NAME as built (no claims) to a file."""

    def write(name: str) -> Path:
        path = tmp_path / f"{name}.wasm"
        path.write_bytes(actors[name])
        return path

    return write
