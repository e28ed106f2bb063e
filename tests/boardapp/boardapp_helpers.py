"""Board application tests' helpers: signed actors, simulated boards, a gateway-side peer."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import sys
from pathlib import Path
from typing import Any

from edgecli import simulator
from edgecli.simulator import Simulator, sim_config
from edgegate.devicelink import DeviceLink
from edgegate.transports import SerialTransport, TcpTransport
from edgegate.wascap import ActorMetadata, KeyPair, sign_module
from edgelink.link import LinkClosed
from edgemodule import claimcheck

ROOT = Path(__file__).resolve().parents[2]
BOARD_ID = "bench-3"
PAIRING_KEY = bytes(range(32))
WAIT = 10.0  # seconds any single step may take before the test fails instead of hanging


class SignedActor:
    """A module signed for tests, with what an install request carries."""

    def __init__(self, module: bytes, name: str, caps: list[str] | None = None,
                 call_alias: str | None = None, subject: KeyPair | None = None):
        self.subject = subject or KeyPair.generate("module")
        self.key = self.subject.public_key
        self.module = sign_module(module, ACCOUNT, self.subject,
                                  ActorMetadata(name, caps=caps, call_alias=call_alias))
        self.token = claimcheck.scan(io.BytesIO(self.module), len(self.module))[1]
        self.sha256 = hashlib.sha256(self.module).digest()

    def install(self, claims: bool | str = True, **changes: Any) -> dict[str, Any]:
        """The install request; claims=False leaves the token out (the board then reads the
        module's own claims section), a string sends that instead."""
        msg = {"t": "install", "actor": self.key, "sha256": self.sha256}
        if claims is not False:
            msg["claims"] = self.token if claims is True else claims
        msg.update(changes)
        return msg


ACCOUNT = KeyPair.generate("account")


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

    async def invoke(self, actor: str, op: str, payload: bytes = b"",
                     origin: str = "") -> dict[str, Any]:
        return await self.request({"t": "invoke", "actor": actor, "op": op, "origin": origin},
                                  payload)

    async def close(self) -> None:
        with contextlib.suppress(asyncio.TimeoutError, OSError):
            await asyncio.wait_for(self.device.transport.close(), WAIT)
        self.runner.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.runner


async def open_gateway(transport: Any, board_id: str = BOARD_ID,
                       key: bytes = PAIRING_KEY) -> Gateway:
    device = DeviceLink(transport, {board_id.encode(): key})
    runner = asyncio.create_task(device.run())
    device.ask_to_open()
    while True:
        hello = await asyncio.wait_for(device.receive(), WAIT)
        if hello["t"] == "hello":
            break
    device.send({"t": "ready", "host": "NTESTGATEWAY", "max_frame": 16384, "window": 8})
    return Gateway(device, runner, hello)


async def connect_tcp(url: str, board_id: str = BOARD_ID, key: bytes = PAIRING_KEY) -> Gateway:
    host, port = url.removeprefix("tcp://").rsplit(":", 1)
    transport = await TcpTransport.connect(host, int(port))
    return await open_gateway(transport, board_id, key)


async def connect_pty(path: str, board_id: str = BOARD_ID, key: bytes = PAIRING_KEY) -> Gateway:
    return await open_gateway(await SerialTransport.open(path), board_id, key)


class BoardInThread:
    """A simulated board on a free TCP port, run in a thread of the test process."""

    def __init__(self, flash: Path, **config: Any):
        self.console: list[str] = []
        self.sim = Simulator(sim_config(BOARD_ID, PAIRING_KEY, {"kind": "usb"}, **config),
                             flash, ("127.0.0.1", 0), console=self.console.append)
        self.url = self.sim.line.where
        self.board = self.sim.board
        self.thread = self.sim.start_thread()

    def stop(self) -> None:
        self.sim.stop()
        self.thread.join(WAIT)


def sim_command(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from edgecli.main import main; "
            "sys.exit(main(sys.argv[1:]))", "sim", *args]


class SimProcess(simulator.SimProcess):
    """`edgehost sim ARGS…` as its own process; the address it prints is `where`."""

    def __init__(self, stderr_path: Path, *args: str):
        super().__init__(list(args), stderr_path, WAIT)

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.splitlines(keepends=True)


def write_key_file(path: Path, board_id: str = BOARD_ID, key: bytes = PAIRING_KEY) -> Path:
    path.write_text('{"board_id": "%s", "pairing_key": "%s"}' % (board_id, key.hex()))
    os.chmod(path, 0o600)
    return path
