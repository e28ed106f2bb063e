"""A board served by the gateway is a host on the lattice: ping, invocations in, calls out."""

from __future__ import annotations

import asyncio

import nats
import pytest
from support.latticecalls import ping_hosts
from support.latticerig import signed_actor, start_gateway, write_registry
from support.responses import read_response

from edgegate.rpc import antiforgery
from edgegate.rpc.invocation import Entity, Invocation
from edgegate.wascap import KeyPair

pytestmark = pytest.mark.nats


async def test_a_board_answers_a_ping_and_a_signed_invocation(nats_server, sim_boards, actors,
                                                             tmp_path, cluster_env):
    board = sim_boards("kitchen")
    module, key = signed_actor(actors["echo"], "echo")
    await board.install(module)
    registry = write_registry(tmp_path / "boards.json",
                              board.registry_entry(labels={"room": "kitchen"}))
    gateway = await start_gateway(registry, nats_server.url, cluster_env)
    nc = await nats.connect(nats_server.url)
    try:
        for _ in range(100):
            if gateway.hosts.get("kitchen") and gateway.hosts["kitchen"].actors:
                break
            await asyncio.sleep(0.1)
        hosts = await ping_hosts(nc)
        assert len(hosts) == 1
        assert hosts[0]["labels"]["room"] == "kitchen"
        labels = hosts[0]["labels"]
        # the board's own, not the gateway's: the simulator models an ESP32-S3 (Xtensa) and
        # runs the firmware on CPython, which it says
        assert (labels["hostcore.arch"], labels["hostcore.os"]) == ("xtensa", "cpython")
        assert labels["hostcore.osfamily"] == "embedded"
        assert labels["edgehost.profile"] == "esp32-s3-devkitc-n8r8"
        assert hosts[0]["id"].startswith("N")
        cluster = KeyPair.from_seed(cluster_env["WASMCLOUD_CLUSTER_SEED"])
        inv = Invocation(Entity("V" + "A" * 55, "default", "wasmcloud:testing"), Entity(key),
                         "Echo", b"hello lattice", host_id=cluster.public_key)
        antiforgery.sign(inv, cluster)
        reply = await nc.request(f"wasmbus.rpc.default.{key}", inv.pack(), timeout=10)
        answer = read_response(reply.data)
        # the echo actor does not hold wasmcloud:testing, so a provider may not call it
        assert answer.error and "does not hold capability wasmcloud:testing" in answer.error
        inv = Invocation(Entity.actor("M" + "B" * 55), Entity(key), "Echo", b"hello lattice",
                         host_id=cluster.public_key)
        antiforgery.sign(inv, cluster)
        reply = await nc.request(f"wasmbus.rpc.default.{key}", inv.pack(), timeout=10)
        answer = read_response(reply.data)
        assert answer.error is None, answer.error
        assert answer.msg == b"hello lattice"
        assert answer.invocation_id == inv.id
    finally:
        await nc.close()
        await gateway.stop()
