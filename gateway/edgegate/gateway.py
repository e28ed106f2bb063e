"""The gateway: one NATS lattice, the boards of a registry, one lattice host per board."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import nats
from nats.aio.client import Client

from edgegate.config import LatticeConfig
from edgegate.control import ControlInterface
from edgegate.devices.registry import BoardEntry
from edgegate.devices.session import BoardError, BoardSession
from edgegate.devices.transports import SerialTransport, TcpListener, TcpTransport, TransportError
from edgegate.events import EventPublisher
from edgegate.jetstream.chunks import PayloadStore
from edgegate.jetstream.metadata import LatticeMetadata
from edgegate.lattice import Lattice
from edgegate.linkdefs.announce import LinkAnnouncer
from edgegate.rpc.router import Router
from edgegate.vhost.boardaccess import BoardAccess
from edgegate.vhost.host import BoardHost
from edgegate.vhost.nativecode import NativeCode, Translator

log = logging.getLogger(__name__)

RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 8.0
GREETING_SECONDS = 10.0
INITIAL_ATTEMPTS = 2


class GatewayError(Exception):
    """The gateway cannot start; the message says what to do."""


async def connect_nats(url: str, config: LatticeConfig, name: str,
                       closing: Callable[[], bool] = lambda: False,
                       reconnected: Callable[[], Awaitable[None]] | None = None,
                       timeout: float | None = None) -> Client:
    """A NATS connection that reconnects for ever once it has been made.

    `closing()` tells a connection lost because we are stopping (nothing to warn about);
    `timeout` bounds the attempts at the first connection (by default a few seconds each)."""
    options: dict[str, Any] = {
        "name": name, "allow_reconnect": True, "max_reconnect_attempts": INITIAL_ATTEMPTS,
        "reconnect_time_wait": 1, "connect_timeout": 5 if timeout is None else min(timeout, 5),
    }
    if config.credentials:
        options["user_credentials"] = config.credentials
    if config.tls_ca or config.tls_cert:
        context = ssl.create_default_context(cafile=config.tls_ca)
        if config.tls_cert:
            context.load_cert_chain(config.tls_cert, config.tls_key)
        options["tls"] = context

    async def disconnected() -> None:
        if not closing():
            log.warning("NATS %s: connection lost; reconnecting", url)

    async def on_reconnected() -> None:
        log.info("NATS %s: reconnected", url)
        if reconnected is not None:
            await reconnected()

    async def error(exc: Exception) -> None:
        log.debug("NATS %s: %s", url, exc)

    try:
        nc = await asyncio.wait_for(
            nats.connect(url, disconnected_cb=disconnected, reconnected_cb=on_reconnected,
                         error_cb=error, **options), timeout)
    except Exception as exc:  # nats-py raises OSError, its own errors or TimeoutError
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, TimeoutError) and timeout is not None:
            reason = f"no answer within {timeout:g} s"
        raise GatewayError(f"cannot reach NATS at {url}: {reason}; start a nats-server there "
                           f"or give --nats URL") from None
    # nats-py applies one limit to the first connection and to reconnecting: a NATS that is
    # not there at start is a mistake to report, one that goes away later is waited for
    nc.options["max_reconnect_attempts"] = -1
    return nc


class Gateway:
    """Serves the boards of a registry as lattice hosts until `stop()`."""

    def __init__(self, config: LatticeConfig, boards: list[BoardEntry],
                 env: Mapping[str, str] | None = None, translator: Translator | None = None):
        self.config = config
        # the ahead-of-time tier, for boards that take native code and whose key it holds
        self.native = NativeCode(translator) if translator is not None else None
        self.boards = boards
        self.env = env  # for what the config does not hold (registry variables); None: os.environ
        self.hosts: dict[str, BoardHost] = {}
        self.lattice: Lattice | None = None
        self.router: Router | None = None
        self.access: BoardAccess | None = None
        self.control: ControlInterface | None = None
        self.on_host: Callable[[BoardHost], None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._listeners: list[TcpListener] = []
        self._stopping = False

    async def start(self) -> None:
        config = self.config
        rpc = await connect_nats(config.rpc_url, config, "edgehost-gateway rpc",
                                 lambda: self._stopping, self._nats_back)
        ctl = rpc if config.ctl_url == config.rpc_url else await connect_nats(
            config.ctl_url, config, "edgehost-gateway ctl", lambda: self._stopping)
        metadata = LatticeMetadata(rpc, config.lattice, config.js_domain)
        try:
            await metadata.start()
        except Exception as exc:
            await rpc.close()
            raise GatewayError(f"NATS at {config.rpc_url}: cannot open the lattice metadata "
                               f"bucket LATTICEDATA_{config.lattice} ({exc}); is JetStream "
                               f"enabled (nats-server -js)?") from None
        payloads = PayloadStore(rpc, config.lattice, config.js_domain)
        self.lattice = Lattice(config, rpc, ctl, EventPublisher(ctl, config.lattice), metadata,
                               payloads)
        self.router = Router(self.lattice)
        LinkAnnouncer(self.lattice, lambda: list(self.hosts.values())).watch()
        self.control = ControlInterface(self.lattice, lambda: list(self.hosts.values()),
                                        self.env)
        await self.control.start()
        self.access = BoardAccess(self.lattice, self.host_for)
        await self.access.start([entry for entry in self.boards])
        listening: dict[str, list[BoardEntry]] = defaultdict(list)
        for entry in self.boards:
            if entry.how == "listen":
                listening[entry.address].append(entry)
            else:
                self._tasks.append(asyncio.create_task(self._keep_board(entry)))
        for address, entries in listening.items():
            await self._listen(address, entries)

    async def stop(self) -> None:
        """Stop every host (host_stopped for each), close the boards' links and NATS."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for listener in self._listeners:
            await listener.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.control is not None:
            await self.control.stop()
        for host in list(self.hosts.values()):
            await host.stop()
        if self.access is not None:
            await self.access.stop()
        if self.lattice is not None:
            await self.lattice.metadata.stop()
            for nc in {id(self.lattice.rpc): self.lattice.rpc,
                       id(self.lattice.ctl): self.lattice.ctl}.values():
                try:
                    await nc.drain()
                except Exception:  # already closed, or NATS is away
                    with contextlib.suppress(Exception):  # its last flush fails the same way
                        await nc.close()

    async def _nats_back(self) -> None:
        # what changed in the metadata while NATS was away (and a bucket lost with it)
        if self.lattice is not None:
            try:
                await self.lattice.metadata.resync()
                for host in list(self.hosts.values()):
                    await host.republish_claims()
            except Exception as exc:
                log.warning("lattice metadata not resynchronised after reconnecting: %s", exc)

    # -- boards

    def host_for(self, board_id: str) -> BoardHost | None:
        return self.hosts.get(board_id)

    def _host(self, entry: BoardEntry) -> BoardHost:
        host = self.hosts.get(entry.board_id)
        if host is None or host.stopped:
            assert self.lattice is not None and self.router is not None
            host = BoardHost(self.lattice, entry, self.router, self._host_stopped, self.native)
            self.hosts[entry.board_id] = host
            if self.access is not None:
                host.on_note = self.access.note_for(entry)
        return host

    def _host_stopped(self, host: BoardHost) -> None:
        if self.hosts.get(host.entry.board_id) is host:
            del self.hosts[host.entry.board_id]

    async def _open(self, entry: BoardEntry) -> tuple[Any, str]:
        if entry.how == "port":
            return await SerialTransport.open(entry.address, entry.baud), entry.address
        host, port = entry.tcp_address
        return await TcpTransport.connect(host, port, GREETING_SECONDS), f"tcp://{entry.address}"

    async def _keep_board(self, entry: BoardEntry) -> None:
        """Reach a board we dial (serial or TCP), serve it, and reach it again when it goes."""
        wait = RETRY_FIRST_SECONDS
        said = ""
        while not self._stopping:
            try:
                transport, where = await self._open(entry)
            except TransportError as exc:
                said = _say_once(said, f"board {entry.board_id}: {exc}; retrying")
                await asyncio.sleep(wait)
                wait = min(wait * 2, RETRY_MAX_SECONDS)
                continue
            host = self._host(entry)
            session = BoardSession(transport, {entry.board_id: entry.pairing_key}, where,
                                   host.id, GREETING_SECONDS)
            try:
                why = await self._serve(session, {entry.board_id: entry})
            except Exception:  # a fault of ours must not end the service of this board
                log.exception("board %s: serving it failed", entry.board_id)
                why = ""
            if why is None:
                wait, said = RETRY_FIRST_SECONDS, ""
            else:
                # the same reason again (a board another gateway serves) is not news
                said = _say_once(said, why) if why else ""
                await asyncio.sleep(wait)
                wait = min(wait * 2, RETRY_MAX_SECONDS)

    async def _listen(self, address: str, entries: list[BoardEntry]) -> None:
        host, port = entries[0].tcp_address
        by_id = {entry.board_id: entry for entry in entries}

        async def board_dialled_in(transport: TcpTransport) -> None:
            def host_name(board_id: str) -> str:
                entry = by_id.get(board_id)
                return self._host(entry).id if entry else "edgehost-gateway"

            session = BoardSession(transport, {e.board_id: e.pairing_key for e in entries},
                                   transport.name, host_name, GREETING_SECONDS)
            why = await self._serve(session, by_id)
            if why:
                log.warning("%s", why)

        try:
            self._listeners.append(await TcpListener.start(host, port, board_dialled_in))
        except TransportError as exc:
            raise GatewayError(f"{exc}; is another gateway listening there?") from None
        log.info("listening for boards %s on %s", ", ".join(by_id), address)

    async def _serve(self, session: BoardSession,
                     entries: dict[str, BoardEntry]) -> str | None:
        """Greet the board and serve it as its host until its link ends (None); or why it
        was not greeted."""
        try:
            await session.open()
        except BoardError as exc:
            await session.close()
            return str(exc)
        entry = entries[session.board_id]
        host = self._host(entry)
        try:
            await host.attach(session)
            if self.on_host is not None:
                self.on_host(host)
            await session.closed.wait()
        finally:
            host.detach(session)
            await session.close()
        log.warning("board %s: link lost", entry.board_id)
        return None


def _say_once(said: str, line: str) -> str:
    if line != said:
        log.warning("%s", line)
    return line
