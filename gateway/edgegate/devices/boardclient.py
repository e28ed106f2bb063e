"""A direct session with one board and no lattice: what `edgehost board` talks through."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from edgegate.devices.boardkey import BoardKey
from edgegate.devices.session import BoardError, BoardRefused, BoardSession
from edgegate.devices.transports import SerialTransport, TcpTransport, Transport, TransportError
from edgegate.vhost.install import put_on_board, take_off_board
from edgelink.messages import NO_LATTICE

__all__ = ["BoardClient", "BoardError", "BoardRefused"]

HOST_NAME = "edgehost-board-cli"
MAX_NOTES = 1000  # log lines and events kept until logs() reads them
_ENDED: dict[str, Any] = {}  # put after the notes when the link ends: logs() stops there


class BoardView:
    """What a board said of itself in its hello, read the ways the commands need it.

    `hello` is the board's latest hello; `where` and `board_id` name the board in messages.
    """

    hello: dict[str, Any]
    where: str
    board_id: str

    @property
    def actors(self) -> dict[str, dict[str, Any]]:
        """The board's actors from its hello: {key: {sha256, alias, name, rpc_version,
        engine}} (engine: "aot" for one the board runs translated to native code)."""
        info = self.hello.get("actor_info") or {}
        out = {}
        for key, digest in (self.hello.get("actors") or {}).items():
            details = info.get(key) if isinstance(info.get(key), dict) else {}
            out[key] = {"sha256": bytes(digest).hex(), "alias": details.get("alias"),
                        "name": details.get("name"), "rpc_version": details.get("rpc_version"),
                        "engine": details.get("engine")}
        return out

    def info(self) -> dict[str, Any]:
        """What the board said about itself in its hello, with its actors as a list."""
        fields = ("board", "firmware", "engine", "os", "os_version", "profile", "free_mem",
                  "free_flash", "uptime_ms", "max_frame", "window")
        summary: dict[str, Any] = {name: self.hello.get(name) for name in fields}
        summary["actors"] = [{"key": key, **details} for key, details in self.actors.items()]
        return summary

    def resolve(self, actor: str) -> str:
        """An actor's key from its key, call alias or name; anything unknown as it was given."""
        actors = self.actors
        if actor in actors:
            return actor
        for field in ("alias", "name"):
            found = [key for key, details in actors.items() if details[field] == actor]
            if len(found) == 1:
                return found[0]
        return actor

    def actor_label(self, key: str) -> str:
        details = self.actors.get(key)
        name = details and (details["alias"] or details["name"])
        return f"{key[:8]}… ({name})" if name else key


class BoardClient(BoardView):
    """One board over its link: hello and ready, then requests, with host calls refused.

    Open it with `connect_tcp` or `connect_serial`, use it, then `close()`. While it is open
    it answers the board's host calls with a `no_lattice` error (there are no providers here)
    and keeps the board's log lines and events for `logs()`.
    """

    def __init__(self, transport: Transport, key: BoardKey, where: str, timeout: float):
        self.where = where
        self.board_id = key.board_id
        self.timeout = timeout
        self._notes: asyncio.Queue[dict[str, Any]] = asyncio.Queue(MAX_NOTES)
        handlers = {"host_call": self._refuse_host_call, "log": self._keep_note,
                    "event": self._keep_note}
        self._session = BoardSession(transport, {key.board_id: key.pairing_key}, where,
                                     HOST_NAME, timeout, handlers=handlers,
                                     on_closed=self._link_ended)

    @property
    def hello(self) -> dict[str, Any]:
        return self._session.hello

    # -- connecting

    @classmethod
    async def connect_tcp(cls, host: str, port: int, key: BoardKey,
                          timeout: float = 10.0) -> BoardClient:
        where = f"tcp://{host}:{port}"
        try:
            transport = await TcpTransport.connect(host, port, timeout)
        except TransportError as exc:
            raise BoardError(f"board at {where}: {exc.reason}") from None
        return await cls.start(transport, key, where, timeout)

    @classmethod
    async def connect_serial(cls, url: str, key: BoardKey, baud: int = 921600,
                             timeout: float = 10.0) -> BoardClient:
        try:
            transport = await SerialTransport.open(url, baud)
        except TransportError as exc:
            raise BoardError(f"board at {url}: cannot open the port ({exc.reason})") from None
        return await cls.start(transport, key, url, timeout)

    @classmethod
    async def start(cls, transport: Transport, key: BoardKey, where: str,
                    timeout: float = 10.0) -> BoardClient:
        """Greet the board on a transport that is already open (`where` names it in errors)."""
        client = cls(transport, key, where, timeout)
        try:
            await client._session.open()
        except BaseException:
            await client.close()
            raise
        return client

    @property
    def session(self) -> BoardSession:
        """The board's session (the one install path, `edgegate.vhost.install`, works on it)."""
        return self._session

    @property
    def wire_bytes(self) -> tuple[int, int]:
        """Bytes written to and read from the board so far, framing included."""
        return self._session.wire_bytes

    # -- what the board says on its own

    def _link_ended(self) -> None:
        self._keep_note(_ENDED)

    def _keep_note(self, msg: dict[str, Any]) -> None:
        if self._notes.full():
            self._notes.get_nowait()  # nobody is reading: keep the latest only
        self._notes.put_nowait(msg)

    def _refuse_host_call(self, msg: dict[str, Any]) -> None:
        text = (f"no lattice connected: actor {self.actor_label(msg.get('actor', '?'))} called "
                f"{msg.get('namespace', '?')} {msg.get('op', '?')}; `edgehost board` serves no "
                f"providers")
        # a session gone meanwhile takes nothing: the board gives up on its own
        self._session.send({"t": "error", "id": msg["id"], "code": NO_LATTICE, "message": text})

    # -- requests

    async def install(self, module: bytes, claims_jwt: str, actor: str,
                      progress: Callable[[int], None] | None = None) -> dict[str, Any]:
        """Upload a module of `actor` (the board reads its claims, `claims_jwt`, from the module
        itself) through the one install path: `install`, or `swap` when the board runs another
        module of that actor. The board's answer, {"t": "installed" | "swapped", "actor"};
        BoardRefused when it says no.

        `progress` is called with the bytes put on the wire so far. While the upload moves the
        wait goes on; the timeout counts from the last byte sent.
        """
        installed = await put_on_board(self._session, HOST_NAME, module, "any", actor,
                                       progress, self.timeout)
        return {"t": installed.answer, "actor": installed.actor}

    async def remove(self, actor: str) -> dict[str, Any]:
        """Remove an actor from the board and its flash: {"t": "removed", "actor"}."""
        return {"t": "removed", "actor": await take_off_board(self._session, actor)}

    async def call(self, actor: str, operation: str, payload: bytes,
                   deadline: float | None = None) -> bytes:
        """Invoke an operation; the answer's bytes, or BoardRefused with the board's error.

        The answer is waited for the client's timeout, or until the monotonic `deadline`."""
        reply = await self._session.request({"t": "invoke", "actor": actor, "op": operation,
                                             "origin": ""}, payload, deadline=deadline)
        return bytes(reply.get("body") or b"")

    async def logs(self) -> AsyncIterator[dict[str, Any]]:
        """The board's `log` and `event` messages since the connection, until the link ends."""
        while True:
            msg = await self._notes.get()
            if msg is _ENDED:
                return
            yield msg

    async def close(self) -> None:
        await self._session.close()
