"""`edgehost sim --micropython` and `--circuitpython`: the simulated board's firmware on the
board's MicroPython or CircuitPython and engine, behind the simulator's usual line (TCP, or a
pseudo-terminal throttled to a UART)."""

from __future__ import annotations

import pytest
from support.gateway import WAIT, connect_pty, connect_tcp
from support.keys import write_key_file
from support.signing import SignedActor

from edgecli import cpbuild
from edgecli.simulator import SimProcess

pytestmark = pytest.mark.micropython


@pytest.fixture(params=["micropython", "circuitpython"])
def mp_sim(request, board_micropython, tmp_path):
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
    gw = await connect_tcp(sim.where)
    try:
        assert await install_and_call(gw, actors, mp_sim.runtime) == b"through the simulator's line"
    finally:
        await gw.close()
    gw = await connect_tcp(sim.where)  # a second gateway connection reaches the same board
    try:
        assert len(gw.hello["actors"]) == 1
    finally:
        await gw.close()
    assert "session 1 open" in sim.stderr


async def test_sim_on_the_boards_interpreter_on_a_throttled_pty(mp_sim, actors):
    sim = mp_sim("--pty", "--baud", "921600")
    gw = await connect_pty(sim.where)
    try:
        assert await install_and_call(gw, actors, mp_sim.runtime) == b"through the simulator's line"
    finally:
        await gw.close()
