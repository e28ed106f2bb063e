"""Restarts around a board host: nats-server restarted mid-run with its state gone, one node
of a three-node cluster killed, the gateway SIGKILLed and started again. The board keeps its
actors (nothing is uploaded again), the host comes back on the lattice with its actors and
their claims, and calls made across the gap get an answer or an error, never a wrong one."""

from __future__ import annotations

import asyncio
import json
import signal

import nats
import pytest
from support.latticecalls import ping_hosts
from support.latticerig import serving, signed_actor, start_gateway, wait_for, write_registry
from support.responses import read_response

from edgegate.natsserver import EmbeddedNatsServer
from edgegate.rpc import antiforgery
from edgegate.rpc.invocation import Entity, Invocation
from edgegate.wascap import KeyPair

pytestmark = pytest.mark.nats

CTL = "wasmbus.ctl.default"


class Caller:
    """Echo calls from a client of its own; tallies right answers, errors, wrong answers."""

    def __init__(self, cluster: KeyPair, actor: str):
        self.cluster, self.actor = cluster, actor
        self.right = self.errors = self.wrong = 0
        self._n = 0

    async def call(self, nc: nats.NATS, timeout: float = 5.0) -> bool:
        self._n += 1
        msg = f"call {self._n}".encode()
        inv = Invocation(Entity.actor("M" + "T" * 55), Entity.actor(self.actor), "Echo", msg,
                         host_id=self.cluster.public_key)
        antiforgery.sign(inv, self.cluster)
        try:
            reply = await nc.request(f"wasmbus.rpc.default.{self.actor}", inv.pack(),
                                     timeout=timeout)
            answer = read_response(reply.data)
        except Exception:  # no responders, a timeout, a connection away: an error, told
            self.errors += 1
            return False
        if answer.error is not None:
            self.errors += 1
            return False
        if answer.msg != msg:
            self.wrong += 1
            return False
        self.right += 1
        return True

    async def until_right(self, nc: nats.NATS, tries: int = 100) -> None:
        for _ in range(tries):
            if await self.call(nc):
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"no right answer from {self.actor} in {tries} tries")

    async def keep_calling(self, url: str, stop: asyncio.Event) -> None:
        nc = await nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
        try:
            while not stop.is_set():
                await asyncio.gather(*(self.call(nc) for _ in range(4)))
        finally:
            await nc.close()


async def claims_listed(nc: nats.NATS, actor: str) -> bool:
    try:
        reply = await nc.request(f"{CTL}.get.claims", b"", timeout=2)
    except Exception:
        return False
    return any(c.get("sub") == actor for c in json.loads(reply.data).get("claims", []))


async def inventory_actors(nc: nats.NATS, host_id: str) -> list[str]:
    reply = await nc.request(f"{CTL}.get.{host_id}.inv", b"", timeout=5)
    return [a["id"] for a in json.loads(reply.data)["actors"]]


def installs(board) -> int:
    """How many modules the board has taken since it started (each is logged)."""
    return board.sim.stderr.count("installed actor")


async def eventually(probe, what: str, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await probe():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g} s")
        await asyncio.sleep(0.2)


async def test_nats_restarted_mid_run_with_its_state_gone_the_host_comes_back_whole(
        tmp_path, sim_boards, actors, cluster_env):
    server = EmbeddedNatsServer(tmp_path / "nats").start()
    board = sim_boards("kitchen")
    echo, echo_key = signed_actor(actors["echo"], "echo")
    await board.install(echo)
    gw = await start_gateway(write_registry(tmp_path / "boards.json", board.registry_entry()),
                             server.url, cluster_env)
    caller = Caller(KeyPair.from_seed(cluster_env["WASMCLOUD_CLUSTER_SEED"]), echo_key)
    stop = asyncio.Event()
    try:
        await wait_for(serving(gw, "kitchen"))
        host_id = gw.hosts["kitchen"].id
        uploads = installs(board)
        calling = asyncio.create_task(caller.keep_calling(server.url, stop))
        await wait_for(lambda: caller.right >= 20, what="calls before the restart")
        server.stop()
        await wait_for(lambda: not gw.lattice.rpc.is_connected, what="the loss noticed")
        # a new server on the same port, its JetStream store empty: the metadata is gone
        server = EmbeddedNatsServer(tmp_path / "nats-after", port=server.port).start()
        await wait_for(lambda: gw.lattice.rpc.is_connected, timeout=20, what="reconnecting")
        right_before = caller.right
        await wait_for(lambda: caller.right > right_before + 20, timeout=30,
                       what="calls served after the restart")
        stop.set()
        await calling
        nc = await nats.connect(server.url)
        try:
            assert [h["id"] for h in await ping_hosts(nc)] == [host_id]
            assert await inventory_actors(nc, host_id) == [echo_key]
            await eventually(lambda: claims_listed(nc, echo_key),
                             "the actor's claims republished in the new server's bucket")
        finally:
            await nc.close()
        assert installs(board) == uploads  # the board kept its actor: nothing re-uploaded
        assert caller.wrong == 0
        print(f"across the NATS restart: {caller.right} right, {caller.errors} errors, "
              f"{caller.wrong} wrong")
    finally:
        stop.set()
        await gw.stop()
        server.stop()


async def test_one_node_of_three_killed_the_gateway_fails_over(
        nats_cluster, sim_boards, actors, tmp_path, cluster_env):
    board = sim_boards("kitchen")
    echo, echo_key = signed_actor(actors["echo"], "echo")
    await board.install(echo)
    first, _, third = nats_cluster.nodes
    gw = await start_gateway(write_registry(tmp_path / "boards.json", board.registry_entry()),
                             first.url, cluster_env)
    caller = Caller(KeyPair.from_seed(cluster_env["WASMCLOUD_CLUSTER_SEED"]), echo_key)
    nc = await nats.connect(third.url)
    try:
        await wait_for(serving(gw, "kitchen"))
        host_id = gw.hosts["kitchen"].id
        await caller.until_right(nc)
        first.process.send_signal(signal.SIGKILL)  # the gateway's node dies
        first.process.wait(10)
        await caller.until_right(nc)  # served again through another node
        assert gw.lattice.rpc.is_connected
        assert [h["id"] for h in await ping_hosts(nc)] == [host_id]
        assert caller.wrong == 0
    finally:
        await nc.close()
        await gw.stop()


async def test_the_gateway_sigkilled_and_restarted_serves_the_board_without_re_uploading(
        nats_server, sim_boards, run_gateway, actors, tmp_path, cluster_env):
    board = sim_boards("kitchen")
    echo, echo_key = signed_actor(actors["echo"], "echo")
    await board.install(echo)
    registry = write_registry(tmp_path / "boards.json", board.registry_entry())
    caller = Caller(KeyPair.from_seed(cluster_env["WASMCLOUD_CLUSTER_SEED"]), echo_key)
    nc = await nats.connect(nats_server.url)
    try:
        first = run_gateway(registry)
        first.wait_for_line("board kitchen is host N")
        await caller.until_right(nc)
        uploads = installs(board)
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(10)
        second = run_gateway(registry)
        second.wait_for_line("board kitchen is host N")
        await caller.until_right(nc)
        hosts = await ping_hosts(nc)
        assert len(hosts) == 1  # a new host key, as each start of a host makes one
        assert await inventory_actors(nc, hosts[0]["id"]) == [echo_key]
        await eventually(lambda: claims_listed(nc, echo_key), "the actor's claims listed")
        assert installs(board) == uploads  # the board kept its actor: nothing re-uploaded
        assert caller.wrong == 0
    finally:
        await nc.close()
