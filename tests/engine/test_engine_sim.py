"""`edgehost sim --micropython` and `--circuitpython`: the simulated board's firmware on the
board's MicroPython or CircuitPython and engine, behind the simulator's usual line (TCP, or a
pseudo-terminal throttled to a UART)."""

from __future__ import annotations

import json
import socket

import pytest
from support.gateway import WAIT, connect_pty, tcp_gateway
from support.keys import BOARD_ID, PAIRING_KEY, write_key_file
from support.signing import SignedActor

from edgecli import cpbuild
from edgegate.devices.simprocess import SimProcess
from edgegate.wascap.modules import custom_section

pytestmark = pytest.mark.micropython


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(params=["micropython", "circuitpython"])
def mp_sim(request, sim_micropython, tmp_path):
    """start(*args) -> `edgehost sim --RUNTIME ...`, on each of the board's interpreters."""
    if request.param == "circuitpython":
        cpbuild.ensure_built()  # before the simulator's start-up wait begins
    started: list[SimProcess] = []

    def start(*args: str) -> SimProcess:
        sim = SimProcess(["--" + request.param, "--key-file",
                          str(write_key_file(tmp_path / "k")), *args],
                         tmp_path / f"sim{len(started)}.err", WAIT)
        started.append(sim)
        return sim

    start.runtime = request.param
    yield start
    for sim in started:
        sim.stop()


async def install_and_call(gw, actors, runtime: str) -> bytes:
    assert (gw.hello["engine"], gw.hello["os"]) == ("wasm3", runtime)
    echo = SignedActor(actors["echo"], "echo")
    assert (await gw.request(echo.install(), echo.module))["t"] == "installed"
    return (await gw.invoke(echo.key, "Echo", b"through the simulator's line"))["body"]


async def test_sim_over_tcp_runs_the_board_on_its_own_interpreter_and_engine(mp_sim, actors):
    sim = mp_sim("--tcp", "127.0.0.1:0")
    async with tcp_gateway(sim.where) as gw:
        assert await install_and_call(gw, actors, mp_sim.runtime) == b"through the simulator's line"
    async with tcp_gateway(sim.where) as gw:  # a second gateway connection reaches the same board
        assert len(gw.hello["actors"]) == 1
    assert "session 1 open" in sim.stderr


async def test_sim_on_the_boards_interpreter_on_a_throttled_pty(mp_sim, actors):
    sim = mp_sim("--pty", "--baud", "921600")
    gw = await connect_pty(sim.where)
    try:
        assert await install_and_call(gw, actors, mp_sim.runtime) == b"through the simulator's line"
    finally:
        await gw.close()


def padded(module: bytes, sectors: int) -> bytes:
    """`module` with a custom section that makes it take `sectors` of the module region."""
    size = sectors * 4096 - 1500 - len(module)  # the claims section takes most of the rest
    return module + custom_section("padding", bytes(size))


@pytest.mark.parametrize("engine", ["cpython", "micropython", "circuitpython"])
async def test_a_compaction_moves_running_actors_and_they_answer_from_where_they_went(
        engine, sim_micropython, tmp_path, actors):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({
        "board_id": BOARD_ID, "pairing_key": PAIRING_KEY.hex(),
        "profile": "esp32-s3-devkitc-n8r8", "limits": {"module_flash_bytes": 16 * 4096},
        "transport": {"kind": "tcp-listen", "host": "127.0.0.1", "port": free_port()}}))
    args = ["--config", str(config), "--flash-dir", str(tmp_path / "flash")]
    if engine != "cpython":
        args.insert(0, "--" + engine)
    if engine == "circuitpython":
        cpbuild.ensure_built()  # before the simulator's start-up wait begins
    first = SignedActor(padded(actors["echo"], 5), "first")
    second = SignedActor(padded(actors["echo"], 5), "second")
    third = SignedActor(padded(actors["echo"], 4), "third")
    last = SignedActor(padded(actors["echo"], 7), "last")
    sim = SimProcess(args, tmp_path / "sim.err", WAIT)
    try:
        async with tcp_gateway(sim.where) as gw:
            for actor in (first, second, third):
                reply = await gw.request(actor.install(), actor.module)
                assert reply["t"] == "installed", reply
            assert (await gw.request({"t": "remove", "actor": first.key}))["t"] == "removed"
            # 7 sectors free, 5 of them below the others' modules: only a compaction makes room
            installed = await gw.request(last.install(), last.module)
            assert installed["t"] == "installed", installed
            assert installed["budget"]["flash_free"] == 0
            for actor in (second, third, last):
                assert (await gw.invoke(actor.key, "Echo", b"moved"))["body"] == b"moved"
    finally:
        sim.stop()
    sim = SimProcess(args, tmp_path / "again.err", WAIT)  # a reboot: nothing is uploaded again
    try:
        async with tcp_gateway(sim.where) as gw:
            assert set(gw.hello["actors"]) == {second.key, third.key, last.key}
            assert (await gw.invoke(second.key, "Echo", b"again"))["body"] == b"again"
    finally:
        sim.stop()


@pytest.mark.parametrize("engine", ["cpython", "micropython"])
async def test_a_swap_the_flash_cannot_keep_leaves_the_old_module_serving(engine, tmp_path,
                                                                         sim_micropython,
                                                                         actors):
    flash = tmp_path / "flash"
    args = ["--tcp", "127.0.0.1:0", "--key-file", str(write_key_file(tmp_path / "k")),
            "--flash-dir", str(flash)]
    if engine != "cpython":
        args.insert(0, "--" + engine)
    echo = SignedActor(actors["echo"], "echo")
    shout = SignedActor(actors["shout"], "echo", subject=echo.subject)
    other = SignedActor(actors["echo"] + custom_section("padding", bytes(8192)), "other")
    # the records' folder: the firmware's store is actors/ of the board's filesystem
    records = flash / "actors" if engine == "cpython" else flash / "actors" / "actors"
    sim = SimProcess(args, tmp_path / "sim.err", WAIT)
    try:
        async with tcp_gateway(sim.where) as gw:
            assert (await gw.request(echo.install(), echo.module))["t"] == "installed"
            # the swap's record cannot be written: a folder is where its file would go
            (records / f"{echo.key}.json.tmp").mkdir()
            failed = await gw.request(shout.install(t="swap"), shout.module)
            assert failed["code"] == "store"
            assert failed["message"].startswith(f"cannot write record of actor {echo.key} ")
            # the flash the refused module took is written again; the old one still answers
            assert (await gw.request(other.install(), other.module))["t"] == "installed"
            assert (await gw.invoke(echo.key, "Echo", b"still"))["body"] == b"still"
            (records / f"{echo.key}.json.tmp").rmdir()
            assert (await gw.request(shout.install(t="swap"), shout.module))["t"] == "swapped"
            assert (await gw.invoke(echo.key, "Echo", b"loud"))["body"] == b"LOUD"
    finally:
        sim.stop()
