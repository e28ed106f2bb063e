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
from collections.abc import Awaitable, Callable
from typing import Any

import msgpack
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from edgegate.devices.session import BoardError, BoardRefused, BoardSession
from edgegate.jetstream.entries import claims_record
from edgegate.jetstream.metadata import LatticeMetadata
from edgegate.lattice import Lattice
from edgegate.rpc.invocation import Invocation
from edgegate.rpc.serving import InvocationServer, NotServed
from edgegate.wascap import KeyPair, Token
from edgegate.wascap.archives import provider_token

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

    def __init__(self, cluster: KeyPair, board_id: str, contract: str,
                 metadata: LatticeMetadata):
        self.contract_id = contract
        subject = derived_key("provider", cluster, board_id, contract)
        self.key = subject.public_key
        self.account = derived_key("account", cluster)  # the gateway's account key
        self.name = f"board {board_id}: {CONTRACTS[contract]}"
        self.token = provider_token(self.account, subject, self.name, contract, "edgehost", {})
        self.claims = Token(self.token).claims
        self.instance_id = str(uuid.uuid4())
        self._metadata = metadata

    def identity(self) -> dict[str, str]:
        return {"public_key": self.key, "link_name": LINK_NAME, "contract_id": self.contract_id}

    def admit(self, inv: Invocation) -> None:
        """Raise NotServed unless an actor linked to this provider, holding its contract, calls."""
        target, origin = inv.target, inv.origin
        if target.public_key != self.key or target.contract_id != self.contract_id:
            raise NotServed(f"provider {self.key} serves {self.contract_id}, not "
                          f"{target.contract_id or 'an empty contract id'}")
        if not origin.is_actor:
            raise NotServed(f"only actors call the board's contracts, not {origin.public_key}")
        link = self._metadata.find_link(origin.public_key, self.contract_id, target.link_name)
        if link is None or link.provider_id != self.key:
            raise NotServed(f"actor {origin.public_key} is not linked to provider {self.key} "
                          f"({self.contract_id}, link name {target.link_name!r})")
        caps = (self._metadata.claims.get(origin.public_key) or {}).get("caps", "")
        if self.contract_id not in caps.split(","):
            raise NotServed(f"actor {origin.public_key} does not hold capability "
                          f"{self.contract_id} in its claims")


class BoardProviders:
    """The board host's own providers: subscribed while the host runs.

    `reach_board()` is the board's session (BoardError while it is away), `connected()`
    whether the board is there now.
    """

    def __init__(self, lattice: Lattice, host_id: str, board_id: str,
                 reach_board: Callable[[], Awaitable[BoardSession]],
                 connected: Callable[[], bool]):
        self.lattice = lattice
        self.host_id = host_id
        self.board_id = board_id
        self._reach_board = reach_board
        self._connected = connected
        cluster = lattice.config.cluster
        self.providers = [BoardProvider(cluster, board_id, contract, lattice.metadata)
                          for contract in CONTRACTS]
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
            await self.lattice.events.publish("provider_started", self.host_id, {
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
            await self.lattice.events.publish("provider_stopped", self.host_id, {
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
        healthy = self._connected()
        message = "" if healthy else f"board {self.board_id} is not connected"
        if msg.reply:
            await self.lattice.rpc.publish(msg.reply, msgpack.packb({"healthy": healthy,
                                                                    "message": message}))

    def _receiver(self, provider: BoardProvider):
        server = InvocationServer(self.lattice, self.host_id, f"provider {provider.key}",
                                  lambda inv: provider, self._call_board)

        async def receive(msg: Msg) -> None:
            task = asyncio.create_task(server.serve(msg))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return receive

    async def _call_board(self, provider: BoardProvider, inv: Invocation,
                          payload: bytes) -> bytes:
        try:
            session = await self._reach_board()
            reply = await session.request({"t": "contract_call", "contract": provider.contract_id,
                                           "op": inv.operation}, payload,
                                          timeout=BOARD_CALL_SECONDS)
        except BoardRefused as exc:
            raise NotServed(exc.message) from None
        except (BoardError, OSError) as exc:  # the board is away
            raise NotServed(f"board {self.board_id}: {exc}") from None
        return bytes(reply.get("body") or b"")
