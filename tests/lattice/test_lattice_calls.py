"""Actors on boards call each other through the lattice, across gateways."""

from __future__ import annotations

import nats
import pytest
from support.latticecalls import invoke, ping_hosts
from support.latticerig import serving, signed_actor, start_gateway, wait_for, write_registry

from edgegate.wascap import KeyPair

pytestmark = pytest.mark.nats


@pytest.fixture
async def two_boards(nats_server, sim_boards, actors, tmp_path, cluster_env):
    """Board A (caller actor) on gateway 1, board B (echo, alias echo-b) on gateway 2."""
    a, b = sim_boards("board-a"), sim_boards("board-b")
    caller, caller_key = signed_actor(actors["caller"], "caller")
    echo, echo_key = signed_actor(actors["echo"], "echo", call_alias="echo-b")
    await a.install(caller)
    await b.install(echo)
    gw1 = await start_gateway(write_registry(tmp_path / "a.json", a.registry_entry()),
                              nats_server.url, cluster_env)
    gw2 = await start_gateway(write_registry(tmp_path / "b.json", b.registry_entry()),
                              nats_server.url, cluster_env)
    nc = await nats.connect(nats_server.url)
    try:
        await wait_for(serving(gw1, "board-a"), what="board A served")
        await wait_for(serving(gw2, "board-b"), what="board B served")
        await wait_for(lambda: gw1.lattice.metadata.actor_for_alias("echo-b") == echo_key,
                       what="gateway 1 learning alias echo-b")
        yield nc, KeyPair.from_seed(cluster_env["WASMCLOUD_CLUSTER_SEED"]), caller_key, \
            echo_key, (gw1, gw2)
    finally:
        await nc.close()
        await gw1.stop()
        await gw2.stop()


async def test_two_gateways_each_answer_a_ping_for_their_board(two_boards):
    nc, _, _, _, (gw1, gw2) = two_boards
    hosts = await ping_hosts(nc)
    assert sorted(h["id"] for h in hosts) == sorted([gw1.hosts["board-a"].id,
                                                     gw2.hosts["board-b"].id])
    assert {h["labels"]["edgehost.board"] for h in hosts} == {"board-a", "board-b"}


async def test_an_actor_calls_an_actor_on_another_board_by_call_alias(two_boards):
    nc, cluster, caller, _, _ = two_boards
    answer = await invoke(nc, cluster, caller, "Call", b"default|echo-b|Echo|over the lattice")
    assert answer.error is None, answer.error
    assert answer.msg == b"over the lattice"


async def test_an_actor_calls_an_actor_on_another_board_by_public_key(two_boards):
    nc, cluster, caller, echo, _ = two_boards
    answer = await invoke(nc, cluster, caller, "Call", f"default|{echo}|Echo|by key".encode())
    assert answer.error is None, answer.error
    assert answer.msg == b"by key"


async def test_an_unknown_call_alias_is_a_host_error_the_actor_sees(two_boards):
    nc, cluster, caller, _, _ = two_boards
    answer = await invoke(nc, cluster, caller, "Call", b"default|nobody|Echo|x")
    assert answer.error is not None
    assert "no actor with call alias 'nobody' on lattice default" in answer.error


async def test_a_contract_without_a_link_is_a_host_error_the_actor_sees(nats_server, sim_boards,
                                                                       actors, tmp_path,
                                                                       cluster_env):
    a = sim_boards("board-a")
    caller, caller_key = signed_actor(actors["caller"], "caller", caps=["wasmcloud:keyvalue"])
    await a.install(caller)
    gw = await start_gateway(write_registry(tmp_path / "a.json", a.registry_entry()),
                             nats_server.url, cluster_env)
    nc = await nats.connect(nats_server.url)
    try:
        await wait_for(serving(gw, "board-a"))
        cluster = KeyPair.from_seed(cluster_env["WASMCLOUD_CLUSTER_SEED"])
        answer = await invoke(nc, cluster, caller_key, "Call",
                              b"default|wasmcloud:keyvalue|KeyValue.Get|k")
        assert answer.error is not None
        assert (f"no link definition for actor {caller_key} on contract wasmcloud:keyvalue "
                f"with link name 'default'") in answer.error
    finally:
        await nc.close()
        await gw.stop()
