"""`edgehost sim --micropython`: the simulated board's firmware on the board's MicroPython and
engine, behind the simulator's usual line (TCP, or a pseudo-terminal throttled to a UART)."""

from __future__ import annotations

import pytest
from support.gateway import WAIT, connect_pty, connect_tcp
from support.keys import write_key_file
from support.signing import SignedActor

from edgecli.simulator import SimProcess

pytestmark = pytest.mark.micropython


@pytest.fixture
def mp_sim(board_micropython, tmp_path):
    started: list[SimProcess] = []

    def start(*args: str) -> SimProcess:
        sim = SimProcess(["--micropython", "--key-file", str(write_key_file(tmp_path / "k")),
                          *args], tmp_path / f"sim{len(started)}.err", WAIT)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


async def install_and_call(gw, actors) -> bytes:
    assert gw.hello["engine"] == "wasm3"
    echo = SignedActor(actors["echo"], "echo")
    assert (await gw.request(echo.install(), echo.module))["t"] == "installed"
    return (await gw.invoke(echo.key, "Echo", b"through the simulator's line"))["body"]


async def test_sim_micropython_over_tcp_runs_the_board_on_its_own_engine(mp_sim, actors):
    sim = mp_sim("--tcp", "127.0.0.1:0")
    gw = await connect_tcp(sim.where)
    try:
        assert await install_and_call(gw, actors) == b"through the simulator's line"
    finally:
        await gw.close()
    gw = await connect_tcp(sim.where)  # a second gateway connection reaches the same board
    try:
        assert len(gw.hello["actors"]) == 1
    finally:
        await gw.close()
    assert "session 1 open" in sim.stderr


async def test_sim_micropython_on_a_throttled_pty(mp_sim, actors):
    sim = mp_sim("--pty", "--baud", "921600")
    gw = await connect_pty(sim.where)
    try:
        assert await install_and_call(gw, actors) == b"through the simulator's line"
    finally:
        await gw.close()
