"""One board as one lattice host: started with its session, its actors served on the lattice.

The host outlives a short loss of its board: its key stays, its actors stay subscribed, and
invocations that arrive meanwhile wait a moment for the board, then fail with a clear error.
Only when the board stays away longer than the grace period does the host stop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from edgegate.devices.registry import BoardEntry
from edgegate.devices.session import BoardError, BoardRefused, BoardSession
from edgegate.lattice import VERSION, Lattice, flushed
from edgegate.providers.board import BoardProviders
from edgegate.providers.hostproviders import HostProviders
from edgegate.rpc.invocation import Invocation
from edgegate.rpc.router import Router
from edgegate.rpc.serving import InvocationServer, NotServed
from edgegate.vhost.actors import ActorOnBoard, ActorsOnLattice, unsubscribe
from edgegate.vhost.heartbeat import Heartbeat
from edgegate.vhost.hostcalls import HostCalls
from edgegate.vhost.labels import board_labels, uptime_human
from edgegate.vhost.nativecode import NativeCode
from edgegate.wascap import KeyPair

log = logging.getLogger(__name__)

GRACE_SECONDS = 60.0  # a board back within this keeps its host key and subscriptions
WAIT_FOR_BOARD_SECONDS = 5.0  # how long an invocation waits for a board that is away
BOARD_CALL_SECONDS = 30.0  # a board invocation's own limit (slow lines, big payloads)


class BoardHost:
    """The lattice host of one board. `attach(session)` each time its board is greeted."""

    def __init__(self, lattice: Lattice, entry: BoardEntry, router: Router,
                 on_stopped: Callable[[BoardHost], None] | None = None,
                 native: NativeCode | None = None):
        self.lattice = lattice
        self.native = native  # translates its actors for the ahead-of-time tier
        self.entry = entry
        self.router = router
        self.key = KeyPair.generate("server")
        self.id = self.key.public_key
        self.started = time.monotonic()
        self.session: BoardSession | None = None
        self.hello: dict[str, Any] = {}
        self.health: dict[str, Any] = {}
        self.served = ActorsOnLattice(lattice, self.id, entry.board_id, self._read_claims,
                                      self._on_invocation_message)
        self.actors = self.served.by_key
        self.host_calls = HostCalls(router, self.id, self.actors, lambda: self.session)
        self.invocations = {"ok": 0, "failed": 0, "to_board": 0}
        self.lost_at: float | None = None
        self._on_stopped = on_stopped
        # the board's log lines and events, for `edgehost board --nats … logs`
        self.on_note: Callable[[dict[str, Any]], None] | None = None
        self._attached = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._subs: list[Subscription] = []
        self._grace: asyncio.Task[None] | None = None
        self.beats = Heartbeat(lattice, self.id, self.heartbeat)
        self.providers = HostProviders(lattice, self.id)  # native ones, on the gateway's machine
        # the board's own contracts
        self.board_providers = BoardProviders(lattice, self.id, entry.board_id,
                                              self.reach_board, self._connected)
        self._serving = InvocationServer(lattice, self.id, f"board {entry.board_id}",
                                         self.served.find, self._call_board, self.invocations)
        self.stopped = False
        # what the board sends on its own, by type
        self._handlers = {"host_call": self._on_host_call, "health": self._on_health,
                          "log": self._on_note, "event": self._on_note}

    @property
    def labels(self) -> dict[str, str]:
        return board_labels(self.entry.board_id, self.hello, self.entry.labels,
                            self.lattice.config.labels)

    @property
    def friendly_name(self) -> str:
        return self.entry.friendly_name or f"edgehost-{self.entry.board_id}"

    @property
    def ready(self) -> bool:
        """The board is greeted and the host fully on the lattice (pings, actors subscribed)."""
        return self._attached.is_set()

    @property
    def uptime(self) -> float:
        return time.monotonic() - self.started

    # -- the board comes and goes

    async def attach(self, session: BoardSession) -> None:
        """The board has been greeted (again): serve its actors, say so on the lattice."""
        first = not self._subs
        self.session = session
        self.hello = session.hello
        self.lost_at = None
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        session.handlers = self._handlers
        session.on_hello = self._on_hello
        if first:
            await self._start_host()
        await self.sync_actors()
        self.beats.start()  # the first with actors
        self._attached.set()

    def detach(self, session: BoardSession) -> None:
        """The board's link has gone: keep serving for the grace period, then stop."""
        if self.session is not session:
            return
        self.session = None
        self._attached.clear()
        self.lost_at = time.monotonic()
        if not self.stopped and self._grace is None:
            self._grace = asyncio.create_task(self._stop_after_grace())

    async def _stop_after_grace(self) -> None:
        await asyncio.sleep(GRACE_SECONDS)
        log.warning("board %s: away for %g s, its host %s stops", self.entry.board_id,
                    GRACE_SECONDS, self.id)
        self._grace = None
        await self.stop()

    async def _start_host(self) -> None:
        nc = self.lattice.ctl
        self._subs.append(await self.beats.answer_pings())
        try:
            await flushed(nc)  # answering pings before anyone hears the host started
        except Exception as exc:  # NATS is away: the subscription goes out on reconnect
            log.debug("flush after subscribing to pings: %s", exc)
        await self.lattice.events.publish("host_started", self.id, {
            "labels": self.labels, "friendly_name": self.friendly_name,
            "uptime_seconds": 0, "version": VERSION})
        await self.board_providers.start()
        log.info("board %s: host %s started", self.entry.board_id, self.id)

    async def stop(self) -> None:
        """Unsubscribe everything and say host_stopped; the board keeps its actors."""
        if self.stopped:
            return
        self.stopped = True
        if self._grace is not None and self._grace is not asyncio.current_task():
            self._grace.cancel()
        self.beats.stop()
        started = bool(self._subs)  # a board never reached had no host on the lattice
        await self.served.unsubscribe_all()
        for sub in self._subs:
            await unsubscribe(sub)
        self._subs.clear()
        await self.providers.stop_all()
        await self.board_providers.stop()
        if started:
            await self.lattice.events.publish("host_stopped", self.id, {"labels": self.labels})
        if self._on_stopped is not None:
            self._on_stopped(self)

    # -- actors

    async def _on_hello(self, msg: dict[str, Any]) -> None:
        self.hello = msg
        await self.sync_actors()

    # the install path and the gateway (after NATS lost its state) ask the host for these
    async def sync_actors(self) -> None:
        await self.served.sync(self.hello)

    async def republish_claims(self) -> None:
        await self.served.republish_claims()

    async def add_actor(self, key: str, digest: str, token: str | None = None) -> None:
        await self.served.add(key, digest, token)

    async def _read_claims(self, key: str) -> str:
        reply = await self._board().request({"t": "get_claims", "actor": key})
        return bytes(reply.get("body") or b"").decode()

    # -- invocations in

    async def _on_invocation_message(self, msg: Msg) -> None:
        # each invocation in its own task: a slow board call must not hold up the next one
        self._spawn(self._serving.serve(msg))

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _call_board(self, actor: ActorOnBoard, inv: Invocation, payload: bytes) -> bytes:
        try:
            session = await self.reach_board()
        except BoardError as exc:
            raise NotServed(str(exc)) from None
        self.invocations["to_board"] += 1
        self.host_calls.traces[actor.key] = inv.trace_context
        try:
            reply = await session.request(_invoke_message(actor.key, inv), payload,
                                          timeout=BOARD_CALL_SECONDS)
        except BoardRefused as exc:
            raise NotServed(exc.message) from None
        except BoardError as exc:
            raise NotServed(f"board {self.entry.board_id} did not answer {inv.operation} of "
                          f"{actor.key}: {str(exc).split(': ', 1)[-1]}") from None
        finally:
            self.host_calls.traces.pop(actor.key, None)
        return bytes(reply.get("body") or b"")

    def _connected(self) -> bool:
        return self.session is not None

    async def reach_board(self) -> BoardSession:
        """The board's session, waiting a moment for a board that is away; BoardError if not."""
        if self.session is None:
            try:
                await asyncio.wait_for(self._attached.wait(), WAIT_FOR_BOARD_SECONDS)
            except TimeoutError:
                pass
        if self.session is None:
            away = time.monotonic() - (self.lost_at or time.monotonic())
            raise BoardError(f"board {self.entry.board_id} is not connected (its link went "
                             f"{away:.0f} s ago); the call was not delivered")
        return self.session

    def _board(self) -> BoardSession:
        if self.session is None:
            raise BoardError(f"board {self.entry.board_id} is not connected")
        return self.session

    # -- what the board sends on its own

    def _on_host_call(self, msg: dict[str, Any]) -> None:
        self._spawn(self.host_calls.serve(msg))

    def _on_health(self, msg: dict[str, Any]) -> None:
        self.health = msg

    def _on_note(self, msg: dict[str, Any]) -> None:
        if self.on_note is not None:
            self.on_note(msg)

    # -- what the host says of itself

    def heartbeat(self) -> dict[str, Any]:
        figures = self.health or self.hello
        return {
            "actors": {key: 1 for key in self.actors},
            "providers": self.board_providers.heartbeat() + self.providers.heartbeat(),
            "labels": self.labels, "friendly_name": self.friendly_name, "version": VERSION,
            "uptime_seconds": int(self.uptime), "uptime_human": uptime_human(self.uptime),
            "board": {"id": self.entry.board_id, "connected": self.session is not None,
                      "free_mem": figures.get("free_mem", -1),
                      "free_flash": figures.get("free_flash", -1)},
        }


def _invoke_message(actor: str, inv: Invocation) -> dict[str, Any]:
    """The board's `invoke` of an actor for a lattice invocation."""
    msg = {"t": "invoke", "actor": actor, "op": inv.operation, "origin": inv.origin.public_key}
    if not inv.origin.is_actor and inv.origin.contract_id:
        msg["origin_contract"] = inv.origin.contract_id  # what the board checks its claims for
    return msg
