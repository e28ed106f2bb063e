"""Garbage on the gateway's subjects, and the events a host publishes."""

from __future__ import annotations

import asyncio
import json
import os
import socket

import msgpack
import nats
import pytest
from support.latticecalls import invoke, lattice_events, ping_hosts
from support.latticerig import serving, signed_actor, start_gateway, wait_for, write_registry
from support.responses import read_response

from edgegate.devices.access import request_subject
from edgegate.wascap import KeyPair

pytestmark = pytest.mark.nats

GARBAGE = [b"", b"\x00", b"\xc1", b"not msgpack at all", msgpack.packb([1, 2, 3]),
           msgpack.packb({"origin": 5, "target": "x"}), msgpack.packb({"msg": {"a": 1}}),
           msgpack.packb({"origin": {"public_key": "M"}, "target": {"public_key": "M"},
                          "operation": "Echo", "msg": b"x", "encoded_claims": "a.b.c"}),
           msgpack.packb({"origin": {}, "target": {}, "content_length": -1}),
           json.dumps({"boards": []}).encode(), os.urandom(2048)]


@pytest.fixture
async def served(nats_server, sim_boards, actors, tmp_path, cluster_env):
    board = sim_boards("kitchen")
    echo, echo_key = signed_actor(actors["echo"], "echo")
    await board.install(echo)
    nc = await nats.connect(nats_server.url)
    events = await lattice_events(nc)
    gw = await start_gateway(write_registry(tmp_path / "boards.json", board.registry_entry()),
                             nats_server.url, cluster_env)
    try:
        await wait_for(serving(gw, "kitchen"), what="the echo actor served")
        cluster = KeyPair.from_seed(cluster_env["WASMCLOUD_CLUSTER_SEED"])
        yield gw, nc, cluster, echo_key, events
    finally:
        await gw.stop()
        await nc.close()


async def test_garbage_on_every_subject_leaves_the_gateway_serving(served):
    gw, nc, cluster, echo, _ = served
    subjects = [f"wasmbus.rpc.default.{echo}", "wasmbus.ctl.default.ping.hosts",
                request_subject("default", "kitchen")]
    for subject in subjects:
        for junk in GARBAGE:
            await nc.publish(subject, junk)
    # an unreadable invocation that wants an answer gets one that says what is wrong
    reply = await nc.request(f"wasmbus.rpc.default.{echo}", b"\xc1", timeout=5)
    assert read_response(reply.data).error.startswith("invalid invocation: ")
    reply = await nc.request(f"wasmbus.rpc.default.{echo}", GARBAGE[7], timeout=5)
    assert read_response(reply.data).error.startswith(
        "Anti-forgery check failed: malformed token")
    answer = await invoke(nc, cluster, echo, "Echo", b"still here")
    assert answer.msg == b"still here"
    assert len(await ping_hosts(nc)) == 1


async def test_a_host_says_started_heartbeat_and_invocation_events(served):
    gw, nc, cluster, echo, events = served
    host = gw.hosts["kitchen"]
    await invoke(nc, cluster, echo, "Echo", b"counted")
    await invoke(nc, cluster, echo, "NoSuchOperation", b"")
    await ping_hosts(nc, wait=0.5)

    def kinds() -> list[str]:
        return [e["type"].removeprefix("com.wasmcloud.lattice.") for e in events
                if e["source"] == host.id]

    await wait_for(lambda: {"invocation_succeeded", "invocation_failed"} <= set(kinds()),
                   what="both invocation events")
    assert {"host_started", "actor_started", "host_heartbeat"} <= set(kinds())
    beat = [e for e in events if e["type"].endswith("host_heartbeat")][-1]
    assert beat["specversion"] == "1.0"
    assert beat["data"]["actors"] == {echo: 1}
    assert beat["data"]["labels"]["edgehost.board"] == "kitchen"
    assert "free_mem" in beat["data"]["board"]
    ok = next(e for e in events if e["type"].endswith("invocation_succeeded"))
    assert ok["data"]["dest"]["public_key"] == echo
    assert ok["data"]["operation"] == "Echo"
    await gw.stop()
    await asyncio.sleep(0.3)
    assert kinds()[-1] == "host_stopped"


async def test_a_board_never_reached_has_no_host_on_the_lattice(nats_server, tmp_path,
                                                              cluster_env):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # it takes the connection but never speaks: no board there
    try:
        registry = write_registry(tmp_path / "boards.json", {
            "board_id": "away", "pairing_key": "33" * 32,
            "tcp": f"127.0.0.1:{silent.getsockname()[1]}"})
        nc = await nats.connect(nats_server.url)
        events = await lattice_events(nc)
        gw = await start_gateway(registry, nats_server.url, cluster_env)
        assert await ping_hosts(nc, wait=0.5) == []
        await gw.stop()
        await nc.flush()
        await asyncio.sleep(0.2)
        assert [e["type"] for e in events] == []  # neither started nor stopped
        await nc.close()
    finally:
        silent.close()
