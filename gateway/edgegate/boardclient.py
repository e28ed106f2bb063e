"""A direct session with one board and no lattice: what `edgehost board` talks through."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from edgegate.devices.session import BoardError, BoardRefused, BoardSession, checked
from edgegate.transports import SerialTransport, TcpTransport, Transport, TransportError
from edgelink import pairing
from edgelink.link import LinkError
from edgelink.messages import ABORTED, MAX_ID, NO_LATTICE
from edgelink.mpack import packb

__all__ = ["BoardClient", "BoardError", "BoardKey", "BoardRefused", "parse_tcp_address"]

HOST_NAME = "edgehost-board-cli"
MAX_NOTES = 1000  # log lines and events kept until logs() reads them
_ENDED: dict[str, Any] = {}  # put after the notes when the link ends: logs() stops there


class BoardKey:
    """A board's id and pairing key, as kept in a key file: {"board_id", "pairing_key"}."""

    def __init__(self, board_id: str, pairing_key: bytes):
        self.board_id = board_id
        self.pairing_key = pairing_key

    @classmethod
    def load(cls, path: Path) -> BoardKey:
        """Read and check a key file; BoardError names the file and the rule it broke."""
        rule = 'a JSON object {"board_id": "<id>", "pairing_key": "<64 hex digits>"}'
        try:
            data = json.loads(path.read_text())
        except OSError as exc:
            raise BoardError(f"key file {path}: cannot read it ({exc.strerror})") from None
        except (UnicodeDecodeError, ValueError):
            raise BoardError(f"key file {path}: not JSON; it must be {rule}") from None
        if not isinstance(data, dict):
            raise BoardError(f"key file {path}: it must be {rule}")
        try:
            board_id = pairing.board_id_bytes(data.get("board_id")).decode()
            key = pairing.pairing_key(data.get("pairing_key"))
        except pairing.PairingError as exc:
            raise BoardError(f"key file {path}: {exc}") from None
        return cls(board_id, key)

    @classmethod
    def create(cls, path: Path, board_id: str) -> BoardKey:
        """Write a new key file (mode 0600, never over an existing one) with a random key."""
        pairing.board_id_bytes(board_id)  # PairingError (a ValueError) for a bad id
        key = cls(board_id, secrets.token_bytes(pairing.KEY_BYTES))
        text = json.dumps({"board_id": board_id, "pairing_key": key.pairing_key.hex()}) + "\n"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return key


def parse_tcp_address(text: str, listening: bool = False) -> tuple[str, int]:
    """HOST:PORT (IPv6 hosts in brackets) as (host, port); ValueError says what is wrong.

    A listening end may ask for port 0 (any free port); a connecting end may not.
    """
    host, sep, port_text = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    lowest = 0 if listening else 1
    if not sep or not host or not port_text.isdigit() or not lowest <= int(port_text) < 65536:
        raise ValueError(
            f"--tcp {text!r}: expected HOST:PORT with a port from {lowest} to 65535"
            + (" (0 picks a free port)" if listening else "")
        )
    return host, int(port_text)


class BoardView:
    """What a board said of itself in its hello, read the ways the commands need it.

    `hello` is the board's latest hello; `where` and `board_id` name the board in messages.
    """

    hello: dict[str, Any]
    where: str
    board_id: str

    @property
    def actors(self) -> dict[str, dict[str, Any]]:
        """The board's actors from its hello: {key: {sha256, alias, name, rpc_version}}."""
        info = self.hello.get("actor_info") or {}
        out = {}
        for key, digest in (self.hello.get("actors") or {}).items():
            details = info.get(key) if isinstance(info.get(key), dict) else {}
            out[key] = {"sha256": bytes(digest).hex(), "alias": details.get("alias"),
                        "name": details.get("name"), "rpc_version": details.get("rpc_version")}
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
        self._device = self._session.device

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
        try:
            self._device.send({"t": "error", "id": msg["id"], "code": NO_LATTICE,
                               "message": text})
        except LinkError:
            pass  # the session went away meanwhile; the board gives up on its own

    # -- requests

    async def install(self, module: bytes, claims_jwt: str, actor: str,
                      progress: Callable[[int], None] | None = None) -> dict[str, Any]:
        """Upload a module: `install`, or `swap` when the board runs another module of that
        actor. Returns the board's `installed` or `swapped`; BoardRefused when it says no.

        `progress` is called with the bytes put on the wire so far. While the upload moves the
        wait goes on; the timeout counts from the last byte sent (the link itself gives up on
        a transfer the board stops acknowledging).
        """
        what = "swap" if actor in self.actors else "install"
        msg = self._upload_message(what, module, claims_jwt, actor)
        start = self._session.transport.bytes_out
        request = asyncio.create_task(self._device.request(msg, module, timeout=None))
        sent, last_move = 0, time.monotonic()
        try:
            while not request.done():
                await asyncio.wait({request}, timeout=0.1)
                now_sent = self._session.transport.bytes_out - start
                if now_sent != sent:
                    sent, last_move = now_sent, time.monotonic()
                    if progress is not None:
                        progress(sent)
                elif time.monotonic() - last_move > self.timeout:
                    raise BoardError(f"board at {self.where}: no answer to {what} within "
                                     f"{self.timeout:g} s")
            reply = request.result()
        except LinkError as exc:
            raise self._session.link_failed(what, exc) from None
        finally:
            request.cancel()
        if reply["t"] == "error" and reply.get("code") == ABORTED:
            # the link gave up on the transfer: a broken line, not the board saying no
            raise BoardError(f"board at {self.where}: the upload stopped: {reply.get('message')}")
        checked(reply)
        self.hello.setdefault("actors", {})[actor] = msg["sha256"]  # as the next hello says
        return reply

    def _upload_message(self, what: str, module: bytes, claims_jwt: str,
                        actor: str) -> dict[str, Any]:
        """The install or swap request, with the claims token when it fits one board frame.

        A token of many capabilities can be over 1 KB; the board then reads the same token
        from the module's own claims section (both were verified before this point).
        """
        msg = {"t": what, "actor": actor, "sha256": hashlib.sha256(module).digest(),
               "claims": claims_jwt}
        head = packb({**msg, "id": MAX_ID, "size": len(module), "link": self._device.epoch})
        if len(head) > self._device.link.body_limit:
            del msg["claims"]
        return msg

    async def remove(self, actor: str) -> dict[str, Any]:
        reply = await self._session.request({"t": "remove", "actor": actor})
        self.hello.get("actors", {}).pop(reply.get("actor"), None)
        return reply

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
