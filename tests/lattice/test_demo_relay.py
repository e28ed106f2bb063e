"""The relay demo actor: it calls the greeter by call alias, across boards through the lattice."""

from __future__ import annotations

import re

import nats
import pytest
from support.latticerig import serving, signed_actor, start_gateway, wait_for, write_registry
from support.responses import read_response

from edgegate.rpc import antiforgery
from edgegate.rpc.invocation import Entity, Invocation, InvocationResponse
from edgegate.wascap import KeyPair

pytestmark = pytest.mark.nats

GREETING = r"(Hello|Hi|Greetings|Howdy|Good day)"
GREETER_CAPS = ["wasmcloud:builtin:numbergen", "wasmcloud:builtin:logging"]


async def _invoke(nc, cluster: KeyPair, actor: str, operation: str,
                  msg: bytes) -> InvocationResponse:
    inv = Invocation(Entity.actor(KeyPair.generate("module").public_key), Entity.actor(actor),
                     operation, msg, host_id=cluster.public_key)
    antiforgery.sign(inv, cluster)
    reply = await nc.request(f"wasmbus.rpc.default.{actor}", inv.pack(), timeout=10)
    return read_response(reply.data)


@pytest.fixture
async def lattice(nats_server, sim_boards, tmp_path, cluster_env):
    """One gateway serving boards as asked: `await start({board_id: [signed modules]})`."""
    gateways = []
    nc = await nats.connect(nats_server.url)

    async def start(boards: dict[str, list[bytes]]):
        entries = []
        for board_id, modules in boards.items():
            board = sim_boards(board_id)
            await board.install(*modules)
            entries.append(board.registry_entry())
        gw = await start_gateway(write_registry(tmp_path / "boards.json", *entries),
                                 nats_server.url, cluster_env)
        gateways.append(gw)
        for board_id, modules in boards.items():
            await wait_for(serving(gw, board_id, len(modules)), what=f"{board_id} served")
        return nc, KeyPair.from_seed(cluster_env["WASMCLOUD_CLUSTER_SEED"]), gw

    try:
        yield start
    finally:
        await nc.close()
        for gw in gateways:
            await gw.stop()


async def test_relay_on_one_board_greets_through_the_greeter_on_another(lattice, actors):
    relay, relay_key = signed_actor(actors["relay"], "relay", call_alias="relay")
    greeter, greeter_key = signed_actor(actors["greeter"], "greeter", call_alias="greeter",
                                        caps=GREETER_CAPS)
    nc, cluster, gw = await lattice({"board-a": [relay], "board-b": [greeter]})
    await wait_for(lambda: gw.lattice.metadata.actor_for_alias("greeter") == greeter_key,
                   what="the gateway learning alias greeter")
    answer = await _invoke(nc, cluster, relay_key, "Greet", b"Ada")
    assert answer.error is None, answer.error
    assert re.fullmatch(f"relayed: {GREETING}, Ada!", answer.msg.decode())


async def test_relay_and_greeter_on_one_board(lattice, actors):
    relay, relay_key = signed_actor(actors["relay"], "relay", call_alias="relay")
    greeter, _ = signed_actor(actors["greeter"], "greeter", call_alias="greeter",
                              caps=GREETER_CAPS)
    nc, cluster, _ = await lattice({"board-a": [relay, greeter]})
    answer = await _invoke(nc, cluster, relay_key, "Greet", b"")
    assert answer.error is None, answer.error
    assert re.fullmatch(f"relayed: {GREETING}, world!", answer.msg.decode())


async def test_relay_without_a_greeter_says_whom_it_missed(lattice, actors):
    relay, relay_key = signed_actor(actors["relay"], "relay", call_alias="relay")
    nc, cluster, _ = await lattice({"board-a": [relay]})
    answer = await _invoke(nc, cluster, relay_key, "Greet", b"Ada")
    assert answer.error is not None
    assert "relay: the actor with call alias greeter did not answer: " in answer.error
    assert "no actor with call alias 'greeter'" in answer.error
