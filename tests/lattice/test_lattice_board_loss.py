"""A board that goes away: callers get an error, never silence; one that comes back keeps its
host."""

from __future__ import annotations

import asyncio
import time

import nats
import pytest
from support.latticecalls import invoke
from support.latticerig import serving, signed_actor, start_gateway, wait_for, write_registry

from edgegate.wascap import KeyPair

pytestmark = pytest.mark.nats


@pytest.fixture
async def served(nats_server, sim_boards, actors, tmp_path, cluster_env):
    board = sim_boards("kitchen")
    spin, spin_key = signed_actor(actors["spin"], "spin")
    echo, echo_key = signed_actor(actors["echo"], "echo")
    await board.install(spin, echo)
    port = int(board.address.rsplit(":", 1)[1])
    gw = await start_gateway(write_registry(tmp_path / "boards.json", board.registry_entry()),
                             nats_server.url, cluster_env)
    nc = await nats.connect(nats_server.url)
    try:
        await wait_for(serving(gw, "kitchen", 2), what="both actors served")
        cluster = KeyPair.from_seed(cluster_env["WASMCLOUD_CLUSTER_SEED"])
        yield board, port, gw, nc, cluster, spin_key, echo_key
    finally:
        await nc.close()
        await gw.stop()


async def test_a_board_lost_mid_invocation_gives_the_caller_an_error(served):
    board, _, _, nc, cluster, spin, _ = served
    call = asyncio.create_task(invoke(nc, cluster, spin, "Spin", b"", timeout=30))
    await asyncio.sleep(1.0)  # the board is now inside the endless call
    started = time.monotonic()
    board.kill()
    answer = await call
    assert answer.error is not None
    assert "board kitchen did not answer Spin of" in answer.error
    assert "closed" in answer.error
    assert time.monotonic() - started < 15  # an answer, not the caller's own timeout


async def test_a_board_that_comes_back_keeps_its_host_and_serves_again(served):
    board, port, gw, nc, cluster, _, echo = served
    host_id = gw.hosts["kitchen"].id
    board.kill()
    await wait_for(lambda: gw.hosts["kitchen"].session is None, what="the link loss noticed")
    answer = await invoke(nc, cluster, echo, "Echo", b"anyone?", timeout=20)
    assert answer.error is not None
    assert "board kitchen is not connected" in answer.error
    board.start(port)
    await wait_for(serving(gw, "kitchen", 2), timeout=20, what="the board served again")
    assert gw.hosts["kitchen"].id == host_id
    answer = await invoke(nc, cluster, echo, "Echo", b"back again")
    assert answer.error is None, answer.error
    assert answer.msg == b"back again"
