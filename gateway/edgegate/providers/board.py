"""The board's own contracts as capability providers on the lattice.

Each board host offers `edgehost:gpio` and `edgehost:sensorled` (see edgehost.hardware), each
under a `V…` key of its own whose claims the gateway's account key signs. Both keys are derived
from the cluster seed and the board id, so they stay the same from one run to the next (links
name providers by key). A call is checked here as any provider checks it (the invocation's
signature, a link from the calling actor to this provider, the actor's claims holding the
contract), then served by the board itself: no actor is involved.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from typing import TYPE_CHECKING, Any

import msgpack
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from edgegate.devices.session import BoardError, BoardRefused
from edgegate.jetstream.chunks import ChunkError
from edgegate.jetstream.entries import claims_record
from edgegate.rpc import antiforgery
from edgegate.rpc.invocation import EnvelopeError, Invocation, InvocationResponse
from edgegate.wascap import KeyPair, Token
from edgegate.wascap.archives import provider_token

if TYPE_CHECKING:
    from edgegate.vhost.host import BoardHost

log = logging.getLogger(__name__)

CONTRACTS = {"edgehost:gpio": "GPIO pins", "edgehost:sensorled": "sensor and LED"}
LINK_NAME = "default"
BOARD_CALL_SECONDS = 10.0


def derived_key(kind: str, cluster: KeyPair, *parts: str) -> KeyPair:
    """A key that is the same whenever the gateway runs with this cluster seed."""
    material = "\n".join(("edgehost derived key", cluster.seed, kind, *parts))
    return KeyPair(kind, hashlib.sha256(material.encode()).digest())


class BoardProvider:
    """One contract of one board on the lattice."""

    def __init__(self, host: BoardHost, contract: str):
        cluster = host.lattice.config.cluster
        board_id = host.entry.board_id
        self.contract_id = contract
        subject = derived_key("provider", cluster, board_id, contract)
        self.key = subject.public_key
        self.account = derived_key("account", cluster)  # the gateway's account key
        self.name = f"board {board_id}: {CONTRACTS[contract]}"
        self.token = provider_token(self.account, subject, self.name, contract, "edgehost", {})
        self.claims = Token(self.token).claims
        self.instance_id = str(uuid.uuid4())

    def identity(self) -> dict[str, str]:
        return {"public_key": self.key, "link_name": LINK_NAME, "contract_id": self.contract_id}


class BoardProviders:
    """The board host's own providers: subscribed while the host runs."""

    def __init__(self, host: BoardHost):
        self.host = host
        self.lattice = host.lattice
        self.providers = [BoardProvider(host, contract) for contract in CONTRACTS]
        self._subs: list[Subscription] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    def find(self, key: str) -> BoardProvider | None:
        return next((p for p in self.providers if p.key == key), None)

    async def start(self) -> None:
        rpc = self.lattice.rpc
        for provider in self.providers:
            subject = self.lattice.rpc_subject(provider.key, LINK_NAME)
            self._subs.append(await rpc.subscribe(subject, queue="rpc",
                                                  cb=self._receiver(provider)))
            self._subs.append(await rpc.subscribe(subject + ".health", cb=self._on_health))
            try:
                await self.lattice.metadata.put_claims(claims_record(provider.claims))
            except Exception as exc:  # it serves; the lattice learns its claims later
                log.warning("provider %s: claims not published: %s", provider.key, exc)
            await self.lattice.events.publish("provider_started", self.host.id, {
                **provider.identity(), "image_ref": "", "instance_id": provider.instance_id,
                "annotations": {}, "claims": {"issuer": provider.account.public_key,
                                              "tags": [], "name": provider.name,
                                              "version": "", "not_before_human": "",
                                              "expires_human": ""}})

    async def stop(self) -> None:
        started = bool(self._subs)
        await asyncio.gather(*(sub.unsubscribe() for sub in self._subs), return_exceptions=True)
        self._subs.clear()
        for task in list(self._tasks):
            task.cancel()
        if not started:
            return
        for provider in self.providers:
            await self.lattice.events.publish("provider_stopped", self.host.id, {
                **provider.identity(), "instance_id": provider.instance_id,
                "annotations": {}, "reason": "host stopped"})

    def inventory(self) -> list[dict[str, Any]]:
        return [{"id": p.key, "image_ref": "", "contract_id": p.contract_id,
                 "link_name": LINK_NAME, "name": p.name, "instance_id": p.instance_id,
                 "annotations": {}, "revision": 0} for p in self.providers]

    def heartbeat(self) -> list[dict[str, str]]:
        return [p.identity() for p in self.providers]

    # -- serving

    async def _on_health(self, msg: Msg) -> None:
        healthy = self.host.session is not None
        message = "" if healthy else f"board {self.host.entry.board_id} is not connected"
        if msg.reply:
            await self.lattice.rpc.publish(msg.reply, msgpack.packb({"healthy": healthy,
                                                                    "message": message}))

    def _receiver(self, provider: BoardProvider):
        async def receive(msg: Msg) -> None:
            task = asyncio.create_task(self._serve(provider, msg))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return receive

    async def _serve(self, provider: BoardProvider, msg: Msg) -> None:
        response, inv = await self._invoke(provider, msg.data)
        if msg.reply:
            try:
                await self.lattice.rpc.publish(msg.reply, response.pack())
            except Exception as exc:  # the caller's inbox may be gone, NATS may be away
                log.warning("provider %s: cannot answer an invocation: %s", provider.key, exc)
        if inv is not None:
            await self.lattice.events.invocation(
                response.error is None, self.host.id, inv.origin.to_wire(),
                inv.target.to_wire(), inv.operation, inv.size, response.error)

    async def _invoke(self, provider: BoardProvider, data: bytes
                      ) -> tuple[InvocationResponse, Invocation | None]:
        try:
            inv = Invocation.unpack(data)
        except EnvelopeError as exc:
            return InvocationResponse("", error=f"invalid invocation: {exc}"), None
        answer = InvocationResponse(inv.id, instance_id=provider.instance_id,
                                    trace_context=inv.trace_context)
        try:
            antiforgery.validate(inv, self.lattice.config.issuers)
            self._check_caller(provider, inv)
        except (antiforgery.ForgeryError, CallRefused) as exc:
            answer.error = str(exc)
            return answer, inv
        try:
            payload = inv.msg
            if not payload and inv.size:
                payload = await self.lattice.payloads.take(inv.id)
            session = await self.host.reach_board()
            reply = await session.request({"t": "contract_call", "contract": provider.contract_id,
                                           "op": inv.operation}, payload,
                                          timeout=BOARD_CALL_SECONDS)
        except BoardRefused as exc:
            answer.error = exc.message
        except (BoardError, ChunkError, OSError) as exc:  # the board is away, or NATS
            answer.error = f"board {self.host.entry.board_id}: {exc}"
        else:
            answer.msg = bytes(reply.get("body") or b"")
        return answer, inv

    def _check_caller(self, provider: BoardProvider, inv: Invocation) -> None:
        target, origin = inv.target, inv.origin
        if target.public_key != provider.key or target.contract_id != provider.contract_id:
            raise CallRefused(f"provider {provider.key} serves {provider.contract_id}, not "
                              f"{target.contract_id or 'an empty contract id'}")
        if not origin.is_actor:
            raise CallRefused(f"only actors call the board's contracts, not "
                              f"{origin.public_key}")
        metadata = self.lattice.metadata
        link = metadata.find_link(origin.public_key, provider.contract_id, target.link_name)
        if link is None or link.provider_id != provider.key:
            raise CallRefused(f"actor {origin.public_key} is not linked to provider "
                              f"{provider.key} ({provider.contract_id}, link name "
                              f"{target.link_name!r})")
        caps = (metadata.claims.get(origin.public_key) or {}).get("caps", "")
        if provider.contract_id not in caps.split(","):
            raise CallRefused(f"actor {origin.public_key} does not hold capability "
                              f"{provider.contract_id} in its claims")


class CallRefused(Exception):
    """An invocation this provider does not serve; the message says why."""
