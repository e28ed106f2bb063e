"""`edgehost linkproxy`: a proxy between a gateway and a board that damages the link on purpose.

It sits on a TCP address (the gateway connects there, it connects on to the board) or on a
pseudo-terminal of its own (the gateway opens it like a serial port, it opens the board's
serial port), and damages what passes as `edgecli.linkfaults` says, seeded and counted. The
first line it prints says where the gateway connects:

    edgehost linkproxy: gateway side on tcp://127.0.0.1:40123
    edgehost linkproxy: gateway side on /dev/pts/9

and when it stops it prints what it did, one line per direction (or JSON with --json).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import tty
from collections.abc import Callable
from typing import Any

import serial

from edgecli.linkfaults import Damage, Rates, pair

READY_PREFIX = "edgehost linkproxy: gateway side on "
READ_SIZE = 4096
DIRECTIONS = ("to_board", "to_gateway")
STOP_GRACE = 1.0  # seconds a closing connection gets to finish before stop() cancels it


class ProxyError(Exception):
    """The proxy cannot start; the message names the input and what is wrong."""


class Relay:
    """Bytes one way: damaged, then written in order, each piece no earlier than its delay."""

    def __init__(self, damage: Damage, write: Callable[[bytes], Any], on_disconnect=None):
        self.damage = damage
        self._write = write
        self._on_disconnect = on_disconnect
        self._queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        self._task = asyncio.create_task(self._writer())

    def take(self, data: bytes) -> None:
        loop = asyncio.get_running_loop()
        for delay, piece in self.damage.feed(data):
            self._queue.put_nowait((loop.time() + delay, piece))
        if self.damage.disconnect and self._on_disconnect is not None:
            self.damage.disconnect = False
            self._on_disconnect()

    async def _writer(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, piece = await self._queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)  # a delay holds up what comes after, as a line does
            result = self._write(piece)
            if asyncio.iscoroutine(result):
                await result

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class LinkProxy:
    """The proxy: `await start()`, then it serves until `await stop()`; `report()` says what
    it did so far."""

    def __init__(self, rates: Rates, seed: int, board: str, listen: tuple[str, int] | None,
                 baud: int = 115200):
        self.rates = rates
        self.seed = seed
        self.board = board
        self.listen = listen
        self.baud = baud
        self.damage = dict(zip(DIRECTIONS, pair(rates, seed), strict=True))
        self.connections = 0
        self.disconnects = 0
        self.where = ""
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()  # one per gateway connection
        self._silent_until = 0.0  # a serial line that a disconnect has made go dead
        self._closers: list[Callable[[], Any]] = []

    # -- TCP

    async def start(self) -> str:
        if self.listen is None:
            return await self._start_pty()
        try:
            self._server = await asyncio.start_server(self._gateway_came, *self.listen)
        except OSError as exc:
            raise ProxyError(f"--tcp {self.listen[0]}:{self.listen[1]}: cannot listen there "
                             f"({exc.strerror or exc})") from None
        host, port = self._server.sockets[0].getsockname()[:2]
        self.where = f"tcp://{host}:{port}"
        return self.where

    async def _gateway_came(self, reader: asyncio.StreamReader,
                            writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        host, _, port = self.board.removeprefix("tcp://").rpartition(":")
        try:
            board_reader, board_writer = await asyncio.open_connection(host, int(port))
        except OSError:
            writer.close()
            return
        self.connections += 1
        for damage in self.damage.values():
            damage._partial.clear()  # a new connection starts on a frame boundary
        done = asyncio.Event()

        def hang_up() -> None:
            self.disconnects += 1
            done.set()

        async def write_to(stream: asyncio.StreamWriter, data: bytes) -> None:
            stream.write(data)
            with contextlib.suppress(ConnectionError):
                await stream.drain()

        down = Relay(self.damage["to_board"], lambda d: write_to(board_writer, d), hang_up)
        up = Relay(self.damage["to_gateway"], lambda d: write_to(writer, d), hang_up)

        async def pump(source: asyncio.StreamReader, relay: Relay) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await source.read(READ_SIZE):
                    relay.take(data)
            done.set()

        pumps = [asyncio.create_task(pump(reader, down)), asyncio.create_task(pump(board_reader,
                                                                                   up))]
        try:
            await done.wait()
        finally:
            for task in pumps:
                task.cancel()
            await down.close()
            await up.close()
            for stream in (writer, board_writer):
                stream.close()
            self._tasks.discard(task)

    # -- a pseudo-terminal pair

    async def _start_pty(self) -> str:
        try:
            port = serial.serial_for_url(self.board, baudrate=self.baud, timeout=0)
        except (serial.SerialException, ValueError) as exc:
            raise ProxyError(f"--board {self.board}: cannot open it ({exc})") from None
        master, slave = os.openpty()
        tty.setraw(slave)
        self.where = os.ttyname(slave)
        os.close(slave)
        os.set_blocking(master, False)
        board_fd = port.fileno()
        os.set_blocking(board_fd, False)
        self.connections = 1
        loop = asyncio.get_running_loop()
        down = Relay(self.damage["to_board"], lambda d: _write_all(board_fd, d),
                     self._quiet_line)
        up = Relay(self.damage["to_gateway"], lambda d: _write_all(master, d), self._quiet_line)
        loop.add_reader(master, self._read_fd, master, down)
        loop.add_reader(board_fd, self._read_fd, board_fd, up)

        async def close() -> None:
            loop.remove_reader(master)
            loop.remove_reader(board_fd)
            await down.close()
            await up.close()
            os.close(master)
            port.close()

        self._closers.append(close)
        return self.where

    def _quiet_line(self) -> None:
        # a serial line cannot hang up: a disconnect is the line going dead for a second
        self.disconnects += 1
        self._silent_until = asyncio.get_running_loop().time() + 1.0

    def _read_fd(self, fd: int, relay: Relay) -> None:
        try:
            data = os.read(fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno == errno.EIO:  # nobody has the terminal open yet
                return
            raise
        if data and asyncio.get_running_loop().time() >= self._silent_until:
            relay.take(data)

    # -- the end

    def report(self) -> dict[str, Any]:
        return {"seed": self.seed, "unit": self.rates.unit, "rates": self.rates.rates,
                "connections": self.connections, "disconnects": self.disconnects,
                **{way: self.damage[way].report() for way in DIRECTIONS}}

    def summary_lines(self) -> list[str]:
        lines = []
        for way in DIRECTIONS:
            counts = self.damage[way].report()
            unit = self.rates.unit + "s"
            done = ", ".join(f"{n} {name}" for name, n in counts.items() if name != unit)
            lines.append(f"edgehost linkproxy: {way.replace('_', ' ')}: {counts[unit]} {unit}; "
                         f"{done}")
        return lines

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            live = [task for task in self._tasks if not task.done()]
            if live:  # a gateway that has just hung up: let its connection wind down itself
                await asyncio.wait(live, timeout=STOP_GRACE)
            for task in list(self._tasks):
                task.cancel()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        for close in self._closers:
            await close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            os.sched_yield()
        except OSError as exc:
            if exc.errno == errno.EIO:
                return  # nobody on the other end: the bytes are lost, as on a loose cable
            raise


def report_json(proxy: LinkProxy) -> str:
    return json.dumps(proxy.report())
