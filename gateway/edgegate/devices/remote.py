"""A board reached through the gateway that serves it: what `edgehost board --nats` uses."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from edgegate.devices import access
from edgegate.devices.boardclient import MAX_NOTES, BoardView
from edgegate.devices.boardkey import BoardKey
from edgegate.devices.session import MIN_WAIT_SECONDS, BoardError, BoardRefused
from edgegate.jetstream.chunks import PayloadStore
from edgegate.lattice import flushed

SECONDS_PER_MODULE_BYTE = 1 / 20_000  # an install may take this long per byte, beyond --timeout


class RemoteBoard(BoardView):
    """The same commands as BoardClient, served by the gateway that holds the board's link."""

    def __init__(self, nc: Client, lattice: str, key: BoardKey, timeout: float):
        self.nc = nc
        self.lattice = lattice
        self.key = key
        self.board_id = key.board_id
        self.timeout = timeout
        self.where = f"gateway on lattice {lattice!r}"
        self.hello: dict[str, Any] = {}
        self.host_id = ""
        self._notes: asyncio.Queue[dict[str, Any]] = asyncio.Queue(MAX_NOTES)
        self._notes_sub: Any = None

    @classmethod
    async def connect(cls, nc: Client, lattice: str, key: BoardKey,
                      timeout: float = 10.0) -> RemoteBoard:
        """The board through `nc`, a connection to the lattice's NATS (closed with the board)."""
        board = cls(nc, lattice, key, timeout)
        try:
            info = await board._ask("info")
        except BaseException:
            await board.close()
            raise
        board.hello, board.host_id = info["hello"], info["host_id"]
        await board._follow_notes()
        board.where = f"gateway host {board.host_id[:8]}… (lattice {lattice!r})"
        return board

    async def _ask(self, action: str, args: dict[str, Any] | None = None,
                   body: bytes | None = None, timeout: float | None = None,
                   deadline: float | None = None) -> dict[str, Any]:
        nonce = os.urandom(16)
        request: dict[str, Any] = {"action": action, "args": args or {},
                                   "ts": int(time.time() * 1000), "nonce": nonce}
        if body is not None:
            request["body"] = body
        key = self.key.pairing_key
        sealed = access.seal(key, "edgehost board request", self.board_id.encode(), request)
        wait = self.timeout if timeout is None else timeout
        if deadline is not None:  # a command's own deadline, which self.timeout sets
            wait = max(deadline - time.monotonic(), MIN_WAIT_SECONDS)
        subject = access.request_subject(self.lattice, self.board_id)
        try:
            msg = await self.nc.request(subject, sealed, timeout=wait)
        except NoRespondersError:
            raise BoardError(f"no gateway serves board {self.board_id!r} on lattice "
                             f"{self.lattice!r}") from None
        except NatsTimeout:
            waited = self.timeout if deadline is not None else wait
            raise BoardError(f"no answer to {action} from the gateway of board "
                             f"{self.board_id!r} within {waited:g} s (is its pairing key the "
                             f"one in --key-file?)") from None
        try:
            reply = access.unseal(key, "edgehost board reply", nonce, msg.data)
        except access.AccessError as exc:
            raise BoardError(f"the answer to {action} is not to be trusted: {exc}") from None
        if not reply.get("ok"):
            code, error = str(reply.get("code") or ""), str(reply.get("error") or "")
            if code:
                raise BoardRefused(code, error)
            raise BoardError(f"board {self.board_id!r}: {error}")
        return reply.get("result") or {}

    async def install(self, module: bytes, claims_jwt: str, actor: str,
                      progress: Callable[[int], None] | None = None) -> dict[str, Any]:
        digest = hashlib.sha256(module).digest()
        args: dict[str, Any] = {"sha256": digest, "claims": claims_jwt}
        body: bytes | None = module
        if len(module) > access.UPLOAD_INLINE:
            name = f"edgehost-upload-{digest.hex()[:16]}-{os.urandom(4).hex()}"
            await PayloadStore(self.nc, self.lattice).put(name, module)
            args["object"], body = name, None
        wait = self.timeout + len(module) * SECONDS_PER_MODULE_BYTE
        result = await self._ask("install", args, body, timeout=wait)
        if progress is not None:
            progress(len(module))
        self.hello.setdefault("actors", {})[actor] = digest
        return result

    async def remove(self, actor: str) -> dict[str, Any]:
        result = await self._ask("remove", {"actor": actor})
        self.hello.get("actors", {}).pop(result.get("actor"), None)
        return result

    async def call(self, actor: str, operation: str, payload: bytes,
                   deadline: float | None = None) -> bytes:
        result = await self._ask("call", {"actor": actor, "op": operation}, payload,
                                 deadline=deadline)
        return bytes(result.get("body") or b"")

    async def _follow_notes(self) -> None:
        """Keep the board's log lines and events from now on, as BoardClient does."""
        key, board = self.key.pairing_key, self.board_id.encode()

        async def note(msg: Any) -> None:
            try:
                value = access.unseal(key, "edgehost board note", board, msg.data)
            except access.AccessError:
                return  # not from the board's gateway: nothing to show
            if self._notes.full():
                self._notes.get_nowait()  # nobody is reading: keep the latest only
            self._notes.put_nowait(value)

        self._notes_sub = await self.nc.subscribe(
            access.notes_subject(self.lattice, self.board_id), cb=note)
        await flushed(self.nc)  # the subscription is in place before the caller goes on

    async def logs(self) -> AsyncIterator[dict[str, Any]]:
        """The board's log lines and events as the gateway passes them on, for ever."""
        while True:
            yield await self._notes.get()

    async def close(self) -> None:
        try:
            await self.nc.close()
        except Exception:  # already closed
            pass
