"""The link soak from the lattice: signed invocations through the gateway and a damaging proxy.

A private nats-server, an `edgehost gateway` process whose registry entry dials the proxy,
`edgehost linkproxy`'s proxy in this process in front of an `edgehost sim` board running the
counting actor, and a plain nats-py caller publishing invocations signed with the cluster seed
on wasmbus.rpc.{lattice}.{actor}, at most `in_flight` outstanding. The counts and the verdict
are soaks.linksoak's. Every reply comes to one inbox subscription of this caller, so a call
answered twice is seen even though the first answer already settled it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import nats
from nats.aio.msg import Msg

from edgecli.linkfaults import Rates
from edgecli.linkproxy import LinkProxy
from edgegate.devices.boardclient import BoardClient
from edgegate.devices.boardkey import BoardKey
from edgegate.devices.simprocess import SimProcess
from edgegate.natsserver import EmbeddedNatsServer
from edgegate.rpc import antiforgery
from edgegate.rpc.invocation import Entity, Invocation, InvocationResponse
from edgegate.vhost.host import BOARD_CALL_SECONDS
from edgegate.wascap import KeyPair, SignedModule

from .linksoak import START_TIMEOUT, ClearError, Silence, SoakResult, drive, signed_actor

EDGEHOST = str(Path(sys.executable).parent / "edgehost")
LATTICE = "default"
CALLER = Entity.actor("M" + "S" * 55)  # the soak's own origin: nothing on the lattice checks it
# The gateway gives a board invocation BOARD_CALL_SECONDS and then answers with a clear error;
# waiting well past that is what tells such an error apart from silence.
CALLER_WAIT = BOARD_CALL_SECONDS + 15.0
SERVED_TIMEOUT = 60.0
NO_RESPONDERS = "no responders on the lattice"
GRACE = 1.0  # after the last call, how long a second answer to one still counts


class LatticeCaller:
    """Signed Count (and Total) invocations of one actor, each with its own reply subject."""

    def __init__(self, nc: nats.NATS, cluster: KeyPair, actor: str, wait: float = CALLER_WAIT):
        self.nc = nc
        self.cluster = cluster
        self.actor = actor
        self.wait = wait
        self.inbox = nc.new_inbox()
        self.pending: dict[str, asyncio.Future[InvocationResponse]] = {}
        self.answered: set[str] = set()
        self.extra = 0  # replies to a call already answered
        self.late = 0  # replies to a call the caller had given up on (counted silent)
        self.serial = 0

    async def start(self) -> LatticeCaller:
        await self.nc.subscribe(f"{self.inbox}.*", cb=self._reply)
        return self

    async def _reply(self, msg: Msg) -> None:
        token = msg.subject.rsplit(".", 1)[-1]
        future = self.pending.get(token)
        if future is None or future.done():
            if token in self.answered:
                self.extra += 1
            else:
                self.late += 1
            return
        self.answered.add(token)  # now, before the caller wakes: a second reply may come first
        if msg.headers and msg.headers.get("Status") == "503":  # nats-server: no subscriber
            future.set_result(InvocationResponse("", error=NO_RESPONDERS))
            return
        try:
            future.set_result(InvocationResponse.unpack(msg.data))
        except ValueError as exc:  # not an invocation response at all: a wrong answer
            future.set_result(InvocationResponse("", error=None, msg=f"?{exc}".encode()))

    async def invoke(self, operation: str, payload: bytes) -> bytes:
        """The answer's payload; ClearError for an error reply, Silence for none in time."""
        self.serial += 1
        token = str(self.serial)
        inv = Invocation(CALLER, Entity.actor(self.actor), operation, payload,
                         host_id=self.cluster.public_key)
        antiforgery.sign(inv, self.cluster)
        future: asyncio.Future[InvocationResponse] = asyncio.get_running_loop().create_future()
        self.pending[token] = future
        try:
            await self.nc.publish(f"wasmbus.rpc.{LATTICE}.{self.actor}", inv.pack(),
                                  reply=f"{self.inbox}.{token}")
            answer = await asyncio.wait_for(future, self.wait)
        except TimeoutError:
            raise Silence(f"no reply within {self.wait:g} s") from None
        finally:
            del self.pending[token]
        if answer.error == NO_RESPONDERS:
            raise ClearError(f"{NO_RESPONDERS} for {self.actor}")
        if answer.invocation_id != inv.id:
            return b"?answer to invocation " + answer.invocation_id.encode()
        if answer.error is not None:
            raise ClearError(answer.error)
        return answer.msg

    def counter(self) -> Callable[[bytes], Awaitable[bytes]]:
        return lambda payload: self.invoke("Count", payload)

    async def total(self, attempts: int = 5) -> int:
        """The counter's Total (which counts nothing, so asking again is harmless)."""
        for _ in range(attempts - 1):
            with contextlib.suppress(ClearError, Silence):
                return int(await self.invoke("Total", b""))
        return int(await self.invoke("Total", b""))


async def wait_served(nc: nats.NATS, actor: str, timeout: float = SERVED_TIMEOUT) -> None:
    """Until the actor answers an (unsigned, hence refused) invocation: the gateway serves it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            await nc.request(f"wasmbus.rpc.{LATTICE}.{actor}", b"\xc0", timeout=2)
            return
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
            if time.monotonic() > deadline:
                raise RuntimeError(f"actor {actor} was not served on the lattice within "
                                   f"{timeout:g} s") from None
            await asyncio.sleep(0.2)


def start_gateway(registry: Path, url: str, env: dict[str, str], err: Path) -> subprocess.Popen:
    return subprocess.Popen([EDGEHOST, "gateway", "--boards", str(registry), "--nats", url],
                            stdout=subprocess.DEVNULL, stderr=err.open("wb"),
                            stdin=subprocess.DEVNULL, env={**os.environ, **env})


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


async def lattice_soak(folder: Path, calls: int, rates: Rates, seed: int = 1,
                       in_flight: int = 16,
                       progress: Callable[[int], None] | None = None) -> SoakResult:
    """Run one lattice soak in `folder` (keys, flash, nats-server, the processes' stderr)."""
    key_path = folder / "board.key"
    key = BoardKey.create(key_path, "soak")
    cluster = KeyPair.generate("cluster")
    env = {"WASMCLOUD_CLUSTER_SEED": cluster.seed, "EDGEHOST_KEYS_DIR": str(folder / "keys"),
           "WASMCLOUD_LATTICE_PREFIX": LATTICE}
    result = SoakResult()
    with EmbeddedNatsServer(folder / "nats") as server:
        sim = SimProcess(["--tcp", "127.0.0.1:0", "--key-file", str(key_path), "--flash-dir",
                          str(folder / "flash")], folder / "sim.err", START_TIMEOUT)
        proxy = LinkProxy(rates, seed, sim.where, ("127.0.0.1", 0))
        gateway = None
        try:
            module, actor = signed_actor()
            host, port = sim.where.removeprefix("tcp://").rsplit(":", 1)
            client = await BoardClient.connect_tcp(host, int(port), key, START_TIMEOUT)
            try:  # started on the board directly: the soak is of the calls, not the install
                await client.install(module, SignedModule(module).token.text, actor)
            finally:
                await client.close()
            through = (await proxy.start()).removeprefix("tcp://")
            registry = folder / "boards.json"
            registry.write_text(json.dumps({"boards": [
                {"board_id": "soak", "key_file": str(key_path), "tcp": through}]}))
            gateway = start_gateway(registry, server.url, env, folder / "gateway.err")
            nc = await nats.connect(server.url)
            try:
                await wait_served(nc, actor)
                caller = await LatticeCaller(nc, cluster, actor).start()
                await drive(caller.counter(), calls, in_flight, result, progress)
                result.executed = await caller.total()
                await asyncio.sleep(GRACE)
                result.answered_twice += caller.extra
                result.late = caller.late
            finally:
                with contextlib.suppress(Exception):
                    await nc.close()
        finally:
            if gateway is not None:
                stop(gateway)
            await proxy.stop()
            result.proxy = proxy.report()
            sim.stop()
    return result
