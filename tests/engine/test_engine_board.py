"""firmware/main.py on the board's MicroPython and CircuitPython with the real engine: installs
and calls actors over the link as a real board would, and a runaway actor is stopped while the
board serves on."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from boardcode import BOARD_ENGINES, HEAP, ROOT, BoardPython, board_python
from support.gateway import WAIT, connect_when_listening
from support.keys import BOARD_ID, PAIRING_KEY
from support.signing import SignedActor
from support.sims import BoardInThread

PROFILE = "esp32-s3-devkitc-n8r8"  # the simulator's default; the limits below lower it

pytestmark = pytest.mark.micropython


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EngineBoard:
    """firmware/main.py under a board interpreter, in a folder of its own."""

    def __init__(self, board: BoardPython, folder: Path, port: int, limits: dict,
                 health_period_s: int = 60):
        config = {"board_id": BOARD_ID, "pairing_key": PAIRING_KEY.hex(),
                  "health_period_s": health_period_s, "profile": PROFILE,
                  "transport": {"kind": "tcp-listen", "host": "127.0.0.1", "port": port},
                  "limits": limits}
        (folder / "config.json").write_text(json.dumps(config))
        # a board reads its profile beside its config, as deploying puts it there
        shutil.copytree(ROOT / "hardware" / "profiles", folder / "profiles", dirs_exist_ok=True)
        (folder / "start.py").write_text("import main\nmain.main(recheck_ms=100)\n")
        env = dict(os.environ, MICROPYPATH=board.path())
        self.proc = subprocess.Popen([str(board.binary), "-X", "heapsize=" + HEAP, "start.py"],
                                     cwd=folder, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(WAIT)


@pytest.fixture(params=BOARD_ENGINES)
def engine_board(request, tmp_path):
    """engine_board(port, limits) -> firmware/main.py on each board interpreter in turn."""
    board = board_python(request.param, request)
    boards: list[EngineBoard] = []

    def start(port: int, limits: dict, health_period_s: int = 60) -> EngineBoard:
        boards.append(EngineBoard(board, tmp_path, port, limits, health_period_s))
        return boards[-1]

    yield start
    for started in boards:
        started.stop()


@pytest.fixture
def any_board(engine, request, tmp_path):
    """any_board(limits) -> the tcp:// URL of a board on the engine under test: the simulator
    (pywasm3) or firmware/main.py on the board's MicroPython or CircuitPython."""
    boards: list[BoardInThread | EngineBoard] = []

    def start(limits: dict) -> str:
        if engine == "pywasm3":
            boards.append(BoardInThread(tmp_path / "flash", limits=limits))
            return boards[-1].url
        port = free_port()
        boards.append(EngineBoard(board_python(engine, request), tmp_path, port, limits))
        return f"tcp://127.0.0.1:{port}"

    yield start
    for board in boards:
        board.stop()


async def test_the_board_installs_and_runs_actors_and_stops_a_runaway(engine_board, actors):
    port = free_port()
    board = engine_board(port, {"max_pages_per_actor": 4, "call_deadline_ms": 200})
    gw = await connect_when_listening(f"tcp://127.0.0.1:{port}")
    try:
        assert gw.hello["engine"] == "wasm3"
        echo, runaway = SignedActor(actors["echo"], "echo"), SignedActor(actors["runaway"],
                                                                          "runaway")
        for actor in (echo, runaway):
            installed = await gw.request(actor.install(), actor.module)
            assert installed["t"] == "installed", installed
        answer = await gw.invoke(echo.key, "Echo", b"on the board's engine")
        assert (answer["t"], answer["body"]) == ("invoke_result", b"on the board's engine")
        stopped = await gw.invoke(runaway.key, "Spin")
        assert (stopped["code"], stopped["message"]) == (
            "trap", f"actor {runaway.key}: trapped in Spin: deadline exceeded")
        # a counted loop without calls (it closes with br_if) meets the same deadline
        stopped = await gw.invoke(runaway.key, "SpinCounted", (2**32 - 1).to_bytes(4, "little"))
        assert (stopped["code"], stopped["message"]) == (
            "trap", f"actor {runaway.key}: trapped in SpinCounted: deadline exceeded")
        counted = await gw.invoke(runaway.key, "Count")  # a fresh instance serves it
        assert (counted["t"], counted["body"]) == ("invoke_result", b"\x01")
        # the profile's 4 pages hold: from 2, one more is granted, then none
        grown = [(await gw.invoke(runaway.key, "Grow", (1).to_bytes(4, "little")))["body"]
                 for _ in range(3)]
        assert grown == [(2).to_bytes(4, "little"), (3).to_bytes(4, "little"), b"\xff" * 4]
        again = await gw.invoke(echo.key, "Echo", b"still serving")
        assert (again["t"], again["body"]) == ("invoke_result", b"still serving")
    finally:
        await gw.close()
    assert board.proc.poll() is None, board.lines


async def test_hot_swap_traps_and_host_calls_through_the_link(any_board, actors):
    gw = await connect_when_listening(any_board({"max_pages_per_actor": 4}))
    try:
        echo = SignedActor(actors["echo"], "echo")
        shout = SignedActor(actors["shout"], "shout", subject=echo.subject)
        faults = SignedActor(actors["faults"], "faults")
        relay = SignedActor(actors["hostcall"], "hostcall", caps=["example:relay"])
        for actor in (echo, faults, relay):
            assert (await gw.request(actor.install(), actor.module))["t"] == "installed"
        swapped = await gw.request(shout.install(t="swap"), shout.module)
        assert swapped["t"] == "swapped"
        assert (await gw.invoke(echo.key, "Echo", b"quiet"))["body"] == b"QUIET"
        for operation, cause in (("Unreachable", "unreachable executed"),
                                 ("DivideByZero", "integer divide by zero"),
                                 ("Recurse", "stack overflow"),
                                 ("WildLog", "__console_log: 4294967280 bytes at 0x10")):
            trapped = await gw.invoke(faults.key, operation)
            assert trapped["code"] == "trap"
            assert trapped["message"].startswith(
                f"actor {faults.key}: trapped in {operation}: {cause}")
            assert (await gw.invoke(faults.key, "Count"))["body"] == b"\x01"
        pending = asyncio.create_task(gw.invoke(relay.key, "Relay", b"ping"))
        call = await gw.receive("host_call")
        assert (call["namespace"], call["op"], call["body"]) == (
            "example:relay", "Relay.Forward", b"ping")
        gw.device.send({"t": "host_result", "id": call["id"]}, b"pong from the lattice")
        assert (await pending)["body"] == b"pong from the lattice"
    finally:
        await gw.close()


async def test_health_reports_and_actors_restored_from_flash_after_a_restart(engine_board,
                                                                            actors):
    port = free_port()
    limits = {"max_pages_per_actor": 4}
    board = engine_board(port, limits, health_period_s=1)
    echo = SignedActor(actors["echo"], "echo")
    wasmbus = SignedActor(actors["wasmbus_echo"], "wasmbus_echo")
    faults = SignedActor(actors["faults"], "faults")
    gw = await connect_when_listening(f"tcp://127.0.0.1:{port}")
    try:
        for actor in (echo, wasmbus, faults):
            assert (await gw.request(actor.install(), actor.module))["t"] == "installed"
        expected = {  # wasmbus_echo answers Actor.HealthRequest, faults answers neither
            echo.key: "healthy", wasmbus.key: "healthy",
            faults.key: f"unhealthy: actor {faults.key}: HealthRequest failed: unknown "
                        "operation: HealthRequest"}
        reports = [await gw.receive("health")]
        while len(reports[-1]["actors"]) < 3:  # one may have begun before the last install
            reports.append(await gw.receive("health"))
        assert (reports[-1]["actors"], reports[-1]["free_mem"] > 0) == (expected, True)
    finally:
        await gw.close()
    board.stop()
    again = engine_board(port, limits)  # the same flash folder: a reboot
    gw = await connect_when_listening(f"tcp://127.0.0.1:{port}", again)
    try:
        assert sorted(gw.hello["actors"]) == sorted([echo.key, wasmbus.key, faults.key])
        answer = await gw.invoke(wasmbus.key, "Echo.Echo", b"after the reboot")
        assert answer["body"] == b"after the reboot"
    finally:
        await gw.close()


async def test_a_100_kb_module_arrives_in_chunks_and_runs(any_board, actors):
    # the echo actor grown by a custom section, as a large signed module is
    pad = b"\x03pad" + bytes(100 * 1024)
    size = len(pad)
    leb = bytes([0x80 | (size & 0x7F), 0x80 | ((size >> 7) & 0x7F), size >> 14])
    big = SignedActor(actors["echo"] + b"\x00" + leb + pad, "big")
    limits = {"max_frame": 1024, "max_payload": 128 * 1024}
    gw = await connect_when_listening(any_board(limits))
    try:
        assert len(big.module) > 100 * 1024
        installed = await gw.request(big.install(), big.module)
        assert installed["t"] == "installed", installed
        payload = bytes(range(256)) * 8
        assert (await gw.invoke(big.key, "Echo", payload))["body"] == payload
    finally:
        await gw.close()
