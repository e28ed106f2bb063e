"""Fixtures for the command line as a user meets it: the real `edgehost` in a subprocess, run in
a folder of the test's own, with a private keys folder and a simulated board when asked."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from cli_paths import COMMAND_TIMEOUT, EDGEHOST

from edgegate.devices.simprocess import SimProcess
from edgegate.wascap import ActorMetadata, KeyPair, sign_module


class Outcome:
    """What the user sees: the exit status and both output streams (as text)."""

    def __init__(self, code: int, out: bytes, err: bytes):
        self.code = code
        self.out = out.decode(errors="replace")
        self.err = err.decode(errors="replace")

    def __repr__(self) -> str:
        return f"Outcome(code={self.code}, out={self.out!r}, err={self.err!r})"


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    """The environment the command runs in: seeds go to tmp_path/keys, no EDGEHOST_* board."""
    values = {k: v for k, v in os.environ.items() if not k.startswith("EDGEHOST_")}
    values["EDGEHOST_KEYS_DIR"] = str(tmp_path / "keys")
    return values


@pytest.fixture
def edgehost(tmp_path, env):
    """Run `edgehost ARGS…` in tmp_path; `closed_stdout=True` gives it a pipe nobody reads."""

    def run(*argv: object, closed_stdout: bool = False, cwd: Path | None = None,
            command: list[str] | None = None) -> Outcome:
        line = [*(command or [EDGEHOST]), *(a if isinstance(a, bytes) else str(a) for a in argv)]
        if not closed_stdout:
            done = subprocess.run(line, capture_output=True, timeout=COMMAND_TIMEOUT, env=env,
                                  cwd=cwd or tmp_path, stdin=subprocess.DEVNULL)
            return Outcome(done.returncode, done.stdout, done.stderr)
        reader, writer = os.pipe()
        os.close(reader)  # as `| true` does: whatever is printed meets a closed pipe
        try:
            done = subprocess.run(line, stdout=writer, stderr=subprocess.PIPE, env=env,
                                  timeout=COMMAND_TIMEOUT, cwd=cwd or tmp_path,
                                  stdin=subprocess.DEVNULL)
        finally:
            os.close(writer)
        return Outcome(done.returncode, b"", done.stderr)

    return run


@pytest.fixture
def key_file(tmp_path) -> Path:
    path = tmp_path / "board.key"
    path.write_text(json.dumps({"board_id": "sim", "pairing_key": "5a" * 32}))
    return path


@pytest.fixture
def sim(tmp_path, key_file):
    """A simulated board on a free TCP port, stopped afterwards."""
    process = SimProcess(["--tcp", "127.0.0.1:0", "--key-file", str(key_file), "--flash-dir",
                          str(tmp_path / "flash")], tmp_path / "sim.err")
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def signed_echo(tmp_path, actors) -> Path:
    """The echo actor signed as `echo` with call alias `echo`, in tmp_path."""
    path = tmp_path / "echo_s.wasm"
    path.write_bytes(sign_module(actors["echo"], KeyPair.generate("account"),
                                 KeyPair.generate("module"),
                                 ActorMetadata("echo", call_alias="echo")))
    return path
