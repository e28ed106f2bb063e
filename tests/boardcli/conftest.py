"""Fixtures for `edgehost board`: real `edgehost sim` processes and the real command, both killed
after each test."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from boardcli_paths import COMMAND_TIMEOUT, EDGEHOST

from edgecli.simulator import SimProcess
from edgegate.wascap import ActorMetadata, KeyPair, sign_module

SIM_START_TIMEOUT = 15.0


class Outcome:
    """What the user sees: the exit status and both output streams."""

    def __init__(self, code: int, out: bytes, err: bytes):
        self.code = code
        self.out_bytes = out
        self.out = out.decode(errors="replace")
        self.err = err.decode(errors="replace")

    def __repr__(self) -> str:
        return f"Outcome(code={self.code}, out={self.out!r}, err={self.err!r})"


@pytest.fixture(autouse=True)
def keys_dir(tmp_path, monkeypatch):
    """Generated seeds go to a temporary folder, never to ~/.edgehost/keys."""
    path = tmp_path / "keys"
    monkeypatch.setenv("EDGEHOST_KEYS_DIR", str(path))
    return path


@pytest.fixture
def key_file(tmp_path) -> Path:
    """A key file for board `sim` (the simulator reads it; `edgehost board` too)."""
    path = tmp_path / "board.key"
    path.write_text(json.dumps({"board_id": "sim", "pairing_key": "5a" * 32}))
    return path


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
        subject = KeyPair.generate("module")
        data = sign_module(actors[name], KeyPair.generate("account"), subject,
                           ActorMetadata(name, caps or [], call_alias=call_alias),
                           expires_in=expires_in)
        path = tmp_path / f"{name}_s.wasm"
        path.write_bytes(data)
        return path, subject.public_key

    return sign


@pytest.fixture
def unsigned(actors, tmp_path):
    """Write actor NAME as built (no claims) to a file."""

    def write(name: str) -> Path:
        path = tmp_path / f"{name}.wasm"
        path.write_bytes(actors[name])
        return path

    return write
