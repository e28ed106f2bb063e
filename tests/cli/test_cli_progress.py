"""Long work shows progress on a terminal: `ctl start actor` while the host fetches the actor
and puts it on its board (the module upload and build-actors have theirs, tested elsewhere)."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import time

import pytest
from cli_paths import COMMAND_TIMEOUT, EDGEHOST

from edgegate.wascap import KeyPair

pytestmark = pytest.mark.nats


def _wait_for(path, text: str) -> str:
    deadline = time.monotonic() + COMMAND_TIMEOUT
    while text not in (seen := path.read_text(errors="replace") if path.exists() else ""):
        assert time.monotonic() < deadline, f"never saw {text!r}: {seen}"
        time.sleep(0.05)
    return seen


@pytest.fixture
def gateway(nats_server, sim, key_file, env, tmp_path):
    """`edgehost gateway` serving the simulated board, file:// actors allowed."""
    boards = tmp_path / "boards.json"
    boards.write_text(json.dumps({"boards": [{"board_id": "sim", "key_file": str(key_file),
                                              "tcp": sim.where.removeprefix("tcp://")}]}))
    env.update(WASMCLOUD_CLUSTER_SEED=KeyPair.generate("cluster").seed,
               WASMCLOUD_ALLOW_FILE_LOAD="true")
    err = tmp_path / "gateway.err"
    with err.open("wb") as out:
        process = subprocess.Popen([EDGEHOST, "gateway", "--boards", str(boards), "--nats",
                                    nats_server.url], stdout=subprocess.DEVNULL, stderr=out,
                                   stdin=subprocess.DEVNULL, env=env)
    try:
        _wait_for(err, "is host")
        yield nats_server.url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _on_a_terminal(argv: list[str], env: dict[str, str], cwd) -> tuple[int, str, str]:
    """Run with stderr on a pseudo-terminal: (exit status, stdout, what the terminal showed)."""
    master, slave = pty.openpty()
    wide = {**env, "TERM": "xterm", "COLUMNS": "400"}  # no line wrapped in what is shown
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=slave,
                               stdin=subprocess.DEVNULL, env=wide, cwd=cwd)
    os.close(slave)
    shown = b""
    try:
        while True:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the command closed its end
                    break
                if not chunk:
                    break
                shown += chunk
            elif process.poll() is not None:
                break
        code = process.wait(COMMAND_TIMEOUT)
        out = process.stdout.read().decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        os.close(master)
    return code, out, shown.decode(errors="replace")


def test_ctl_start_shows_what_the_host_is_doing(gateway, env, signed_echo, tmp_path):
    code, out, shown = _on_a_terminal([EDGEHOST, "ctl", "start", "actor",
                                       f"file://{signed_echo}", "--nats", gateway], env, tmp_path)
    assert code == 0, shown
    assert "started on host N" in out
    assert f"fetches file://{signed_echo} and starts it on its board" in shown


def test_no_spinner_off_a_terminal_or_with_quiet(gateway, edgehost, signed_echo):
    got = edgehost("ctl", "start", "actor", f"file://{signed_echo}", "--nats", gateway, "-q")
    assert got.code == 0, got
    assert "fetches" not in got.err
