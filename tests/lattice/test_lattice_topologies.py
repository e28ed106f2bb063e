"""Gateways on different nodes of a three-node cluster, and behind a leaf node, reach each
other's boards."""

from __future__ import annotations

import asyncio

import nats
import pytest
from support.latticecalls import ping_hosts
from support.latticerig import serving, signed_actor, start_gateway, wait_for, write_registry
from support.responses import read_response

from edgegate.rpc import antiforgery
from edgegate.rpc.invocation import Entity, Invocation, InvocationResponse
from edgegate.wascap import KeyPair

pytestmark = pytest.mark.nats


async def invoke_when_routed(url: str, cluster: KeyPair, actor: str, operation: str,
                             msg: bytes) -> InvocationResponse:
    """A signed invocation from a client on `url`; interest may still be crossing routes."""
    nc = await nats.connect(url)
    try:
        for _ in range(100):
            inv = Invocation(Entity.actor("M" + "T" * 55), Entity.actor(actor), operation, msg,
                             host_id=cluster.public_key)
            antiforgery.sign(inv, cluster)
            try:
                reply = await nc.request(f"wasmbus.rpc.default.{actor}", inv.pack(), timeout=10)
                return read_response(reply.data)
            except nats.errors.NoRespondersError:
                await asyncio.sleep(0.1)
        raise AssertionError(f"actor {actor} never reachable from {url}")
    finally:
        await nc.close()


async def two_gateways(urls: tuple[str, str], sim_boards, actors, tmp_path, env):
    a, b = sim_boards("board-a"), sim_boards("board-b")
    caller, caller_key = signed_actor(actors["caller"], "caller")
    echo, echo_key = signed_actor(actors["echo"], "echo", call_alias="echo-b")
    await a.install(caller)
    await b.install(echo)
    gw1 = await start_gateway(write_registry(tmp_path / "a.json", a.registry_entry()),
                              urls[0], env[0])
    gw2 = await start_gateway(write_registry(tmp_path / "b.json", b.registry_entry()),
                              urls[1], env[1])
    await wait_for(serving(gw1, "board-a"), what="board A served")
    await wait_for(serving(gw2, "board-b"), what="board B served")
    return gw1, gw2, caller_key, echo_key


async def test_gateways_on_different_cluster_nodes_reach_each_others_boards(
        nats_cluster, sim_boards, actors, tmp_path, cluster_env):
    urls = nats_cluster.urls
    gw1, gw2, caller, echo = await two_gateways((urls[0], urls[2]), sim_boards, actors,
                                                tmp_path, (cluster_env, cluster_env))
    try:
        cluster = KeyPair.from_seed(cluster_env["WASMCLOUD_CLUSTER_SEED"])
        await wait_for(lambda: gw1.lattice.metadata.actor_for_alias("echo-b") == echo,
                       what="the alias replicated to node 1's gateway")
        answer = await invoke_when_routed(urls[1], cluster, caller, "Call",
                                          b"default|echo-b|Echo|across the cluster")
        assert answer.error is None, answer.error
        assert answer.msg == b"across the cluster"
        nc = await nats.connect(urls[1])
        try:
            hosts = await ping_hosts(nc)
        finally:
            await nc.close()
        assert {h["labels"]["edgehost.board"] for h in hosts} == {"board-a", "board-b"}
    finally:
        await gw1.stop()
        await gw2.stop()


async def test_a_gateway_behind_a_leaf_node_serves_the_hubs_lattice(
        nats_leaf, sim_boards, actors, tmp_path, cluster_env):
    # the leaf has JetStream of its own (domain "leaf"): its gateway keeps its metadata there
    gw1, gw2, caller, echo = await two_gateways(
        (nats_leaf.hub.url, nats_leaf.leaf.url), sim_boards, actors, tmp_path,
        (cluster_env, cluster_env))
    try:
        cluster = KeyPair.from_seed(cluster_env["WASMCLOUD_CLUSTER_SEED"])
        answer = await invoke_when_routed(nats_leaf.hub.url, cluster, caller, "Call",
                                          f"default|{echo}|Echo|through the leaf".encode())
        assert answer.error is None, answer.error
        assert answer.msg == b"through the leaf"
        nc = await nats.connect(nats_leaf.hub.url)
        try:
            hosts = await ping_hosts(nc)
        finally:
            await nc.close()
        assert {h["labels"]["edgehost.board"] for h in hosts} == {"board-a", "board-b"}
    finally:
        await gw1.stop()
        await gw2.stop()
