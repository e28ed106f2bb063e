"""The gateway's side of board access over NATS (see edgegate.devices.access)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from edgegate.devices import access
from edgegate.devices.registry import BoardEntry
from edgegate.devices.session import BoardError, BoardRefused
from edgegate.lattice import Lattice
from edgegate.vhost.host import BoardHost
from edgegate.vhost.install import install_on_board, remove_from_board
from edgegate.wascap import ClaimsError

log = logging.getLogger(__name__)

SEEN_NONCES = 4096
BOARD_REQUEST_SECONDS = 60.0


class BoardAccess:
    """Serves `edgehost board --nats` for every board of the registry; `host_for` finds the
    lattice host that serves a board now (None while it has none)."""

    def __init__(self, lattice: Lattice, host_for: Callable[[str], BoardHost | None]):
        self.lattice = lattice
        self.host_for = host_for
        self._subs: list[Subscription] = []
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, entries: list[BoardEntry]) -> None:
        for entry in entries:
            subject = access.request_subject(self.lattice.prefix, entry.board_id)
            self._subs.append(await self.lattice.ctl.subscribe(
                subject, cb=self._handler(entry)))

    async def stop(self) -> None:
        for sub in self._subs:
            try:
                await sub.unsubscribe()
            except Exception:  # the connection is already gone
                pass
        for task in list(self._tasks):
            task.cancel()

    def note_for(self, entry: BoardEntry) -> Callable[[dict[str, Any]], None]:
        """What the board's host calls with each log line and event: publish it, sealed."""
        subject = access.notes_subject(self.lattice.prefix, entry.board_id)

        def publish(msg: dict[str, Any]) -> None:
            note = {k: v for k, v in msg.items() if k != "id"}
            data = access.seal(entry.pairing_key, "edgehost board note", entry.board_id.encode(),
                               note)
            self._spawn(self.lattice.ctl.publish(subject, data))

        return publish

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _handler(self, entry: BoardEntry) -> Callable[[Msg], Any]:
        async def handle(msg: Msg) -> None:
            self._spawn(self._serve(entry, msg))
        return handle

    async def _serve(self, entry: BoardEntry, msg: Msg) -> None:
        key, board = entry.pairing_key, entry.board_id.encode()
        try:
            request = access.unseal(key, "edgehost board request", board, msg.data)
            nonce = self._fresh(request)
        except access.AccessError as exc:
            log.warning("board %s: a request through the gateway was refused: %s",
                        entry.board_id, exc)
            return  # nothing sealed to say to someone without the key
        try:
            result = await self._act(entry, request)
            reply: dict[str, Any] = {"ok": True, "result": result}
        except BoardRefused as exc:
            reply = {"ok": False, "error": exc.message, "code": exc.code}
        except (BoardError, ClaimsError, ValueError) as exc:
            reply = {"ok": False, "error": str(exc), "code": ""}
        if msg.reply:
            await self.lattice.ctl.publish(msg.reply, access.seal(
                key, "edgehost board reply", nonce, reply))

    def _fresh(self, request: dict[str, Any]) -> bytes:
        nonce, ts = request.get("nonce"), request.get("ts")
        if not isinstance(nonce, bytes) or len(nonce) != 16 or not isinstance(ts, int):
            raise access.AccessError("a request needs a 16-byte nonce and a time")
        if abs(time.time() * 1000 - ts) > access.CLOCK_SKEW_MS:
            raise access.AccessError("its time is more than 60 s away from the gateway's clock")
        if nonce in self._seen:
            raise access.AccessError("it repeats an earlier request (replay)")
        self._seen[nonce] = None
        while len(self._seen) > SEEN_NONCES:
            self._seen.popitem(last=False)
        return nonce

    async def _act(self, entry: BoardEntry, request: dict[str, Any]) -> Any:
        host = self.host_for(entry.board_id)
        if host is None or host.session is None:
            raise BoardError(f"board {entry.board_id} is not connected to the gateway")
        session = host.session
        action, args = request.get("action"), request.get("args") or {}
        body = request.get("body")
        if action == "info":
            return {"hello": session.now(), "host_id": host.id}
        if action == "call":
            reply = await session.request({"t": "invoke", "actor": str(args.get("actor")),
                                           "op": str(args.get("op")), "origin": ""},
                                          bytes(body or b""), timeout=BOARD_REQUEST_SECONDS)
            return {"body": bytes(reply.get("body") or b"")}
        if action == "remove":
            return {"actor": await remove_from_board(host, str(args.get("actor")))}
        if action == "install":
            return await self._install(host, args, body)
        raise ValueError(f"unknown action {action!r} (info, install, remove, call)")

    async def _install(self, host: BoardHost, args: dict[str, Any], body: Any) -> dict[str, Any]:
        if body is None and isinstance(args.get("object"), str):
            body = await self.lattice.payloads.take(args["object"])
        module = bytes(body or b"")
        if hashlib.sha256(module).digest() != args.get("sha256"):
            raise ValueError("the module does not match the sha256 of the request")
        installed = await install_on_board(host, module)
        return {"t": installed.answer, "actor": installed.actor}
