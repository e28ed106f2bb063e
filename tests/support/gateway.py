"""A gateway-side peer of a board for tests: DeviceLink with the hello and ready done."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from edgegate.devices.devicelink import DeviceLink
from edgegate.devices.transports import SerialTransport, TcpTransport
from edgelink.link import LinkClosed
from support.keys import BOARD_ID, PAIRING_KEY

WAIT = 10.0  # seconds any single step may take before the test fails instead of hanging


class Gateway:
    """A gateway-side peer on one connection: DeviceLink plus the board's hello."""

    def __init__(self, device: DeviceLink, runner: asyncio.Task, hello: dict[str, Any]):
        self.device = device
        self.runner = runner
        self.hello = hello

    async def request(self, msg: dict[str, Any], body: bytes | None = None) -> dict[str, Any]:
        return await self.device.request(msg, body, timeout=WAIT)

    async def receive(self, t: str | tuple[str, ...]) -> dict[str, Any]:
        """The board's next message of type t (others are skipped)."""
        return await asyncio.wait_for(self._next(t), WAIT)

    async def _next(self, t: str | tuple[str, ...]) -> dict[str, Any]:
        kinds = (t,) if isinstance(t, str) else t
        while True:
            try:
                msg = await self.device.receive()
            except LinkClosed:
                raise AssertionError(f"the link closed while waiting for {t}") from None
            if msg["t"] in kinds:
                return msg

    async def received(self) -> list[str]:
        """Types of the messages the board has sent so far and nobody took (replies are
        delivered in order, so this holds everything sent before the last reply)."""
        kinds = []
        while True:
            try:
                kinds.append((await asyncio.wait_for(self.device.receive(), 0.05))["t"])
            except asyncio.TimeoutError:
                return kinds

    def ready(self) -> None:
        """Answer the board's hello (open_gateway does, unless told to leave it to the test)."""
        self.device.send({"t": "ready", "host": "NTESTGATEWAY", "max_frame": 16384,
                          "window": 8})

    async def invoke(self, actor: str, op: str, payload: bytes = b"", origin: str = "",
                     origin_contract: str = "") -> dict[str, Any]:
        msg = {"t": "invoke", "actor": actor, "op": op, "origin": origin}
        if origin_contract:
            msg["origin_contract"] = origin_contract
        return await self.request(msg, payload)

    async def close(self) -> None:
        with contextlib.suppress(asyncio.TimeoutError, OSError):
            await asyncio.wait_for(self.device.transport.close(), WAIT)
        self.runner.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.runner


async def open_gateway(transport: Any, board_id: str = BOARD_ID,
                       key: bytes = PAIRING_KEY, ready: bool = True) -> Gateway:
    device = DeviceLink(transport, {board_id.encode(): key})
    runner = asyncio.create_task(device.run())
    device.ask_to_open()
    while True:
        hello = await asyncio.wait_for(device.receive(), WAIT)
        if hello["t"] == "hello":
            break
    gateway = Gateway(device, runner, hello)
    if ready:
        gateway.ready()
    return gateway


async def connect_tcp(url: str, board_id: str = BOARD_ID, key: bytes = PAIRING_KEY,
                      ready: bool = True) -> Gateway:
    host, port = url.removeprefix("tcp://").rsplit(":", 1)
    transport = await TcpTransport.connect(host, int(port))
    return await open_gateway(transport, board_id, key, ready)


async def connect_when_listening(url: str, board: Any = None) -> Gateway:
    """connect_tcp once the board listens; if it never does, fail with what `board` (one
    with `lines`, if given) printed."""
    for _ in range(int(WAIT / 0.05)):
        try:
            return await connect_tcp(url)
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError(f"{url}: the board never listened: {board and board.lines}")


@contextlib.asynccontextmanager
async def tcp_gateway(url: str, board_id: str = BOARD_ID, key: bytes = PAIRING_KEY,
                      ready: bool = True) -> AsyncIterator[Gateway]:
    """connect_tcp for the length of an `async with`, closed however the block ends."""
    gateway = await connect_tcp(url, board_id, key, ready)
    try:
        yield gateway
    finally:
        await gateway.close()


async def connect_pty(path: str, board_id: str = BOARD_ID, key: bytes = PAIRING_KEY) -> Gateway:
    return await open_gateway(await SerialTransport.open(path), board_id, key)
