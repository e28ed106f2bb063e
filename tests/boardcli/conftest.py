"""Fixtures for `edgehost board`: real `edgehost sim` processes and the real command, both killed
after each test."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import time
from pathlib import Path

import pytest
from boardcli_paths import COMMAND_TIMEOUT, EDGEHOST

from edgecli.simulator import parse_ready_line
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


class Sim:
    """One `edgehost sim` process; `where` is the pty path or tcp:// URL it printed."""

    def __init__(self, process: subprocess.Popen, stderr_path: Path, where: str):
        self.process = process
        self.stderr_path = stderr_path
        self.where = where

    @property
    def board_args(self) -> list[str]:
        """The `edgehost board` options that reach this simulator."""
        if self.where.startswith("tcp://"):
            return ["--tcp", self.where.removeprefix("tcp://")]
        return ["--port", self.where]

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process.stdout is not None:
            self.process.stdout.close()


def _ready_line(process: subprocess.Popen, stderr_path: Path) -> str:
    """The simulator's first stdout line, read without ever blocking past the deadline."""
    deadline = time.monotonic() + SIM_START_TIMEOUT
    line = b""
    fd = process.stdout.fileno()
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"edgehost sim printed no ready line within "
                                 f"{SIM_START_TIMEOUT} s; stderr: {stderr_path.read_text()}")
        byte = os.read(fd, 1)
        if not byte:
            raise AssertionError(f"edgehost sim exited: {stderr_path.read_text()}")
        line += byte
    return line.decode()


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
    started: list[Sim] = []

    def start(*args: str, tcp: bool = True, key: Path | None = None) -> Sim:
        line = ["--tcp", "127.0.0.1:0"] if tcp else ["--pty"]
        argv = [EDGEHOST, "sim", *line, "--key-file", str(key or key_file),
                "--flash-dir", str(tmp_path / "flash"), *args]
        stderr_path = tmp_path / f"sim{len(started)}.err"
        with stderr_path.open("wb") as err:
            process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err,
                                       stdin=subprocess.DEVNULL)
        sim = Sim(process, stderr_path, "")
        started.append(sim)
        where = parse_ready_line(_ready_line(process, stderr_path))
        assert where, f"unexpected first line from edgehost sim; stderr: {sim.stderr}"
        sim.where = where
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

    def run(sim: Sim, *argv: object, timeout: float = 10.0) -> Outcome:
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
