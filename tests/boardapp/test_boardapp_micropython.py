"""The board application under the real MicroPython interpreter (no wasm engine there) and on
the board's CircuitPython (with its wasm3 engine and board stand-ins)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from support.gateway import WAIT, connect_when_listening, tcp_gateway
from support.keys import BOARD_ID, PAIRING_KEY

from edgecli import cpbuild

pytestmark = pytest.mark.micropython

ROOT = Path(__file__).resolve().parents[2]
START = "import main\nmain.main(recheck_ms=100)\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def board_config(port: int) -> dict:
    return {"board_id": BOARD_ID, "pairing_key": PAIRING_KEY.hex(), "health_period_s": 1,
            "profile": "esp32-s3-devkitc-n8r8",
            "transport": {"kind": "tcp-listen", "host": "127.0.0.1", "port": port}}


# each interpreter: its binary, what goes on its path first, the engine the board reports
RUNTIMES = {
    "micropython": (lambda: Path(sys.executable).parent / "micropython", [], "none"),
    "circuitpython": (cpbuild.ensure_built, [cpbuild.STAND_INS], "wasm3"),
}


class MicroPythonBoard:
    """firmware/main.py run by a unix port (`runtime`: MicroPython's or the board's
    CircuitPython) in a folder of its own."""

    def __init__(self, folder: Path, runtime: str):
        binary, path_first, self.engine = RUNTIMES[runtime]
        binary = binary()
        self.runtime = runtime
        (folder / "start.py").write_text(START)
        # the profiles go on a board's flash beside its config.json
        shutil.copytree(ROOT / "hardware" / "profiles", folder / "profiles", dirs_exist_ok=True)
        path = [*path_first, ROOT / "firmware", ROOT / "shared"]
        env = dict(os.environ, MICROPYPATH=":".join(map(str, path)))
        self.proc = subprocess.Popen([str(binary), "start.py"], cwd=folder, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self.lines: list[str] = []
        self._seen = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            with self._seen:
                self.lines.append(line.rstrip("\n"))
                self._seen.notify_all()

    def wait_for(self, text: str) -> str:
        with self._seen:
            found = self._seen.wait_for(
                lambda: next((line for line in self.lines if text in line), None), WAIT)
        assert found, f"{self.runtime} board never printed {text!r}: {self.lines}"
        return found

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(WAIT)


@pytest.fixture(params=list(RUNTIMES))
def micropython_board(request, tmp_path):
    """start() -> the board application on each board interpreter in turn."""
    boards: list[MicroPythonBoard] = []

    def start() -> MicroPythonBoard:
        board = MicroPythonBoard(tmp_path, request.param)
        boards.append(board)
        return board

    yield start
    for board in boards:
        board.stop()


async def test_the_board_boots_on_each_interpreter_and_reports_itself(micropython_board,
                                                                     tmp_path, sign):
    port = free_port()
    (tmp_path / "config.json").write_text(json.dumps(board_config(port)))
    board = micropython_board()
    gw = await connect_when_listening(f"tcp://127.0.0.1:{port}")
    try:
        hello = gw.hello
        assert (hello["board"], hello["os"], hello["engine"], hello["actors"]) == (
            BOARD_ID, board.runtime, board.engine, {})
        assert hello["free_mem"] > 0
        echo = sign("echo")
        installed = await gw.request(echo.install(), echo.module)
        if board.engine == "none":
            assert installed["code"] == "refused"
            assert installed["message"] == (f"actor {echo.key}: engine: this board has no "
                                            f"wasm engine")
            missing = await gw.invoke(echo.key, "Echo", b"")
            assert missing["code"] == "unknown_actor"
        else:
            assert installed["t"] == "installed"
            assert (await gw.invoke(echo.key, "Echo", b"on CircuitPython"))["body"] == \
                b"on CircuitPython"
            assert (await gw.request({"t": "remove", "actor": echo.key}))["t"] == "removed"
        health = await gw.receive("health")
        assert health["actors"] == {} and health["free_mem"] > 0
        board.wait_for("session 1 open with gateway NTESTGATEWAY")
    finally:
        await gw.close()


async def test_under_micropython_a_request_ahead_of_ready_is_not_answered_from_the_last_link(
        micropython_board, tmp_path):
    port = free_port()
    (tmp_path / "config.json").write_text(json.dumps(board_config(port)))
    micropython_board()
    gw = await connect_when_listening(f"tcp://127.0.0.1:{port}")
    try:
        first = await gw.request({"t": "remove", "actor": "MFIRST", "id": 1000})
    finally:
        await gw.close()
    async with tcp_gateway(f"tcp://127.0.0.1:{port}", ready=False) as gw:
        second = await gw.request({"t": "remove", "actor": "MSECOND", "id": 1000})
        gw.ready()
    assert [first["message"], second["message"]] == ["no actor MFIRST on this board",
                                                     "no actor MSECOND on this board"]


async def test_without_a_valid_config_the_board_says_why_and_waits_for_one(micropython_board,
                                                                           tmp_path):
    board = micropython_board()
    board.wait_for("edgehost: config.json: not found; provision the board with a config file; "
                   "waiting for provisioning")
    (tmp_path / "config.json").write_text('{"board_id": "x"}')
    board.wait_for("edgehost: config.json: pairing_key is missing; waiting for provisioning")
    assert board.proc.poll() is None  # waiting, not crashed
    port = free_port()
    (tmp_path / "config.json").write_text(json.dumps(board_config(port)))
    board.wait_for(f"edgehost: board {BOARD_ID} starting (tcp-listen transport)")
    gw = await connect_when_listening(f"tcp://127.0.0.1:{port}")
    try:
        assert gw.hello["engine"] == board.engine
    finally:
        await gw.close()


def test_edgehost_board_info_reads_a_board_on_each_interpreter(micropython_board, tmp_path):
    port = free_port()
    (tmp_path / "config.json").write_text(json.dumps(board_config(port)))
    keys = tmp_path / "board.key"
    keys.write_text(json.dumps({"board_id": BOARD_ID, "pairing_key": PAIRING_KEY.hex()}))
    board = micropython_board()
    board.wait_for(f"edgehost: board {BOARD_ID} starting")
    command = [sys.executable, "-c", "import sys; from edgecli.main import main; "
               "sys.exit(main(sys.argv[1:]))", "board", "--tcp", f"127.0.0.1:{port}",
               "--key-file", str(keys), "--timeout", str(WAIT), "info", "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=3 * WAIT, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert (info["board"], info["engine"], info["actors"]) == (BOARD_ID, board.engine, [])
    assert info["os"] == board.runtime
    assert info["free_mem"] > 0
