"""The gateway's byte pipes to boards behind one interface: pyserial URLs and TCP connections."""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import logging
import os
import socket
import threading
from collections.abc import Awaitable, Callable
from typing import Protocol

import serial

log = logging.getLogger(__name__)

READ_SIZE = 4096


class TransportError(OSError):
    """A port could not be opened or broke; the message names it, `reason` says why."""

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.reason = reason or message


def _reason(exc: BaseException) -> str:
    """What went wrong, in words: the OS's text for its error number when there is one."""
    errno = getattr(exc, "errno", None)
    return os.strerror(errno) if errno else str(exc)


class Transport(Protocol):
    """A byte pipe to one board."""

    name: str

    async def read(self) -> bytes:
        """Some bytes as they arrive; b'' once the pipe has closed."""
        ...

    async def write(self, data: bytes) -> None:
        """Write all of data (waits while the pipe is full)."""
        ...

    def send(self, data: bytes) -> None:
        """Put data on its way without waiting, after what was sent before; a write that
        fails later is logged (the read side then sees the pipe close)."""
        ...

    async def close(self) -> None: ...


class SerialTransport:
    """Any pyserial URL: /dev/ttyUSB0, a pty path, rfc2217://host:port, socket://host:port.

    pyserial is blocking, so one thread reads and one executor thread writes (in order).
    """

    def __init__(self, port: serial.SerialBase, loop: asyncio.AbstractEventLoop, name: str):
        self.name = name
        self._port = port
        self._loop = loop
        self._incoming: asyncio.Queue[bytes] = asyncio.Queue()
        self._closing = threading.Event()
        self._writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="serial-w")
        self._reader = threading.Thread(target=self._read_loop, name=f"serial-r {name}",
                                        daemon=True)
        self._reader.start()

    @classmethod
    async def open(cls, url: str, baudrate: int = 115200) -> SerialTransport:
        try:
            # exclusive: a second program on one board's line would read half its frames
            port = serial.serial_for_url(url, baudrate=baudrate, timeout=0.05, write_timeout=None,
                                         exclusive=True)
        except (serial.SerialException, ValueError) as exc:
            reason = _reason(exc)
            if getattr(exc, "errno", None) in (errno.EAGAIN, errno.EWOULDBLOCK):
                reason = ("busy with another connection; a gateway, another edgehost board "
                          "command or a serial monitor holds it")
            raise TransportError(f"cannot open serial port {url!r}: {exc}", reason) from None
        return cls(port, asyncio.get_running_loop(), url)

    def _read_loop(self) -> None:
        while not self._closing.is_set():
            try:
                data = self._port.read(max(1, min(self._port.in_waiting, READ_SIZE)))
            except (serial.SerialException, OSError, TypeError, AttributeError):
                break  # closed under us, or the device went away
            if data:
                self._loop.call_soon_threadsafe(self._incoming.put_nowait, data)
        try:
            self._loop.call_soon_threadsafe(self._incoming.put_nowait, b"")
        except RuntimeError:
            pass  # the event loop is already gone

    async def read(self) -> bytes:
        return await self._incoming.get()

    async def write(self, data: bytes) -> None:
        try:
            await self._loop.run_in_executor(self._writer, self._port.write, data)
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"cannot write to serial port {self.name!r}: {exc}") from None

    def send(self, data: bytes) -> None:
        # the one writer thread keeps the order of everything sent and written
        try:
            self._writer.submit(self._port.write, data).add_done_callback(self._written)
        except RuntimeError as exc:  # the writer has been shut down: the port is closing
            raise TransportError(f"cannot write to serial port {self.name!r}: {exc}") from None

    def _written(self, future: concurrent.futures.Future[int | None]) -> None:
        exc = future.exception()
        if exc is not None:
            log.warning("cannot write to serial port %r: %s", self.name, exc)

    async def close(self) -> None:
        self._closing.set()
        await asyncio.to_thread(self._reader.join, 1.0)
        self._writer.shutdown(wait=True)
        self._port.close()


class TcpTransport:
    """One accepted (or dialled) TCP connection to a board on Wi-Fi."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        peer = writer.get_extra_info("peername")
        self.name = f"tcp://{peer[0]}:{peer[1]}" if peer else "tcp"
        self._reader = reader
        self._writer = writer

    @classmethod
    async def connect(cls, host: str, port: int, timeout: float | None = None) -> TcpTransport:
        where = f"cannot connect to {host}:{port}"
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except TimeoutError:
            raise TransportError(f"{where}: no connection within {timeout:g} s",
                                 f"no connection within {timeout:g} s") from None
        except socket.gaierror as exc:
            reason = f"unknown host {host!r} ({exc.strerror})"
            raise TransportError(f"{where}: {reason}", reason) from None
        except OSError as exc:
            raise TransportError(f"{where}: {exc}", _reason(exc).lower()) from None
        return cls(reader, writer)

    async def read(self) -> bytes:
        try:
            return await self._reader.read(READ_SIZE)
        except ConnectionError:
            return b""

    async def write(self, data: bytes) -> None:
        try:
            self._writer.write(data)
            await self._writer.drain()
        except ConnectionError as exc:
            raise TransportError(f"cannot write to {self.name}: {exc}") from None

    def send(self, data: bytes) -> None:
        # asyncio's buffer takes what the socket does not; the link's window bounds it
        self._writer.write(data)

    async def close(self) -> None:
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except ConnectionError:
            pass


class TcpListener:
    """Accepts boards calling in over TCP; hands each connection to `on_board`."""

    def __init__(self, server: asyncio.Server):
        self._server = server

    @classmethod
    async def start(cls, host: str, port: int,
                    on_board: Callable[[TcpTransport], Awaitable[None]]) -> TcpListener:
        async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            transport = TcpTransport(reader, writer)
            try:
                await on_board(transport)
            finally:
                await transport.close()

        try:
            server = await asyncio.start_server(accepted, host, port)
        except OSError as exc:
            raise TransportError(f"cannot listen on {host}:{port}: {exc}") from None
        return cls(server)

    @property
    def port(self) -> int:
        return self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self._server.close()
        await self._server.wait_closed()


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
