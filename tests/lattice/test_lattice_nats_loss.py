"""A gateway that loses NATS keeps its boards and serves again once NATS is back."""

from __future__ import annotations

import nats
import pytest
from support.latticecalls import invoke, ping_hosts
from support.latticerig import serving, signed_actor, start_gateway, wait_for, write_registry

from edgegate.natsserver import EmbeddedNatsServer
from edgegate.wascap import KeyPair

pytestmark = pytest.mark.nats


async def test_the_gateway_reconnects_when_nats_comes_back(tmp_path, sim_boards, actors,
                                                          cluster_env):
    server = EmbeddedNatsServer(tmp_path / "nats").start()
    board = sim_boards("kitchen")
    echo, echo_key = signed_actor(actors["echo"], "echo")
    await board.install(echo)
    gw = await start_gateway(write_registry(tmp_path / "boards.json", board.registry_entry()),
                             server.url, cluster_env)
    try:
        await wait_for(serving(gw, "kitchen"))
        host_id = gw.hosts["kitchen"].id
        server.stop()
        await wait_for(lambda: not gw.lattice.rpc.is_connected, what="the loss noticed")
        server = EmbeddedNatsServer(tmp_path / "nats", port=server.port).start()
        await wait_for(lambda: gw.lattice.rpc.is_connected, timeout=20, what="reconnecting")
        nc = await nats.connect(server.url)
        try:
            hosts = await ping_hosts(nc)
            assert [h["id"] for h in hosts] == [host_id]
            cluster = KeyPair.from_seed(cluster_env["WASMCLOUD_CLUSTER_SEED"])
            answer = await invoke(nc, cluster, echo_key, "Echo", b"after the outage")
            assert answer.msg == b"after the outage", answer.error
        finally:
            await nc.close()
    finally:
        await gw.stop()
        server.stop()
