"""The actors a board host serves on the lattice: their claims, subscriptions and events."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from edgegate.devices.session import BoardError
from edgegate.jetstream.entries import claims_record
from edgegate.lattice import Lattice, flushed
from edgegate.rpc.invocation import Invocation
from edgegate.rpc.serving import NotServed
from edgegate.wascap import ClaimsError
from edgegate.wascap.tokens import Token

log = logging.getLogger(__name__)


class ActorOnBoard:
    """What the host knows of one actor on its board: claims, and its lattice subscription."""

    def __init__(self, key: str, sha256: str, token: str, claims: dict[str, Any]):
        self.key = key
        self.sha256 = sha256
        self.token = token
        self.claims = claims
        wascap = claims.get("wascap") or {}
        self.caps: list[str] = [c for c in wascap.get("caps") or [] if isinstance(c, str)]
        self.name = wascap.get("name") or ""
        self.alias = wascap.get("call_alias") or ""
        self.revision = wascap.get("rev") or 0
        self.subscription: Subscription | None = None
        self.instance_id = ""

    def admit(self, inv: Invocation) -> None:
        """Raise NotServed unless the caller is an actor or a provider of a contract it holds."""
        contract = inv.origin.contract_id
        if contract and not inv.origin.is_actor and contract not in self.caps:
            raise NotServed(f"actor {self.key} does not hold capability {contract}, so "
                          f"provider {inv.origin.public_key} may not invoke it")


class ActorsOnLattice:
    """The actors of one board host, by key, each subscribed to its rpc subject.

    `read_claims(key)` reads an actor's claims token from the board (BoardError if it
    cannot); `on_invocation(msg)` takes each invocation that arrives for any of them.
    """

    def __init__(self, lattice: Lattice, host_id: str, board_id: str,
                 read_claims: Callable[[str], Awaitable[str]],
                 on_invocation: Callable[[Msg], Awaitable[None]]):
        self.lattice = lattice
        self.host_id = host_id
        self.board_id = board_id
        self._read_claims = read_claims
        self._on_invocation = on_invocation
        self.by_key: dict[str, ActorOnBoard] = {}

    def find(self, inv: Invocation) -> ActorOnBoard:
        actor = self.by_key.get(inv.target.public_key)
        if actor is None:
            raise NotServed(f"actor {inv.target.public_key} is not running on host "
                            f"{self.host_id}")
        return actor

    async def sync(self, hello: dict[str, Any]) -> None:
        """Subscribe the actors the board's hello lists, unsubscribe those it no longer has."""
        listed = {key: bytes(digest).hex() for key, digest in (hello.get("actors") or {})
                  .items()}
        for key in list(self.by_key):
            if key not in listed:
                await self.forget(key)
        for key, digest in listed.items():
            known = self.by_key.get(key)
            if known is not None and known.sha256 == digest:
                continue
            await self.add(key, digest)

    async def republish_claims(self) -> None:
        """Put the claims of these actors in the lattice metadata again: a NATS that came
        back without its JetStream state has lost them, and other hosts look call aliases up
        there."""
        for actor in list(self.by_key.values()):
            await self.lattice.metadata.put_claims(claims_record(actor.claims))

    async def add(self, key: str, digest: str, token: str | None = None) -> None:
        """Serve one actor of the board on the lattice (its claims read from the board)."""
        if token is None:
            try:
                token = await self._read_claims(key)
            except BoardError as exc:
                log.warning("board %s: cannot read the claims of %s: %s", self.board_id,
                            key, exc)
                return
        try:
            claims = Token(token).verify()
        except ClaimsError as exc:
            log.warning("board %s: actor %s is not served on the lattice: its claims fail "
                        "(%s)", self.board_id, key, exc)
            return
        old = self.by_key.get(key)
        actor = ActorOnBoard(key, digest, token, claims)
        actor.instance_id = old.instance_id if old else _instance_id()
        if old is not None:
            actor.subscription = old.subscription
        else:
            subject = self.lattice.rpc_subject(key)
            # the queue group is the subject itself, as on every wasmCloud host: a call to an
            # actor that runs on several hosts reaches exactly one of them
            actor.subscription = await self.lattice.rpc.subscribe(
                subject, queue=subject, cb=self._on_invocation)
        self.by_key[key] = actor
        if old is None:
            try:
                await flushed(self.lattice.rpc)  # subscribed before anyone hears it started
            except Exception as exc:  # NATS is away: the subscription goes out on reconnect
                log.debug("flush after subscribing %s: %s", key, exc)
        try:
            await self.lattice.metadata.put_claims(claims_record(claims))
        except Exception as exc:  # the actor serves; other hosts learn its alias later
            log.warning("board %s: CLAIMS_%s not published: %s", self.board_id, key, exc)
        if old is None:
            await self.lattice.events.publish("actor_started", self.host_id, {
                "public_key": key, "image_ref": "", "api_version": 0,
                "instance_id": actor.instance_id, "annotations": {},
                "claims": {"call_alias": actor.alias, "caps": actor.caps,
                           "issuer": claims.get("iss", ""),
                           "tags": (claims.get("wascap") or {}).get("tags") or [],
                           "name": actor.name, "version": (claims.get("wascap") or {})
                           .get("ver") or "", "revision": actor.revision,
                           "not_before_human": "", "expires_human": ""}})

    async def forget(self, key: str) -> None:
        actor = self.by_key.pop(key, None)
        if actor is None:
            return
        await unsubscribe(actor.subscription)
        await self.lattice.events.publish("actor_stopped", self.host_id, {
            "public_key": key, "instance_id": actor.instance_id, "annotations": {},
            "host_id": self.host_id})

    async def unsubscribe_all(self) -> None:
        """Stop serving them on the lattice; the board keeps them."""
        for actor in self.by_key.values():
            await unsubscribe(actor.subscription)


def _instance_id() -> str:
    return str(uuid.uuid4())


async def unsubscribe(sub: Subscription | None) -> None:
    if sub is None:
        return
    try:
        await sub.unsubscribe()
    except Exception:  # already gone with its connection
        pass
