"""Hostile parties on the link to a simulated board: an unknown board id, a wrong pairing key,
every frame replayed, frames reordered, a whole recorded session replayed, oversized modules
and payloads. Each is refused with its reason (in the client's error, or on the board's
console: link drops are logged once per reason and counted); no request runs twice (a
counting actor proves it); an honest client is served afterwards; the simulator's memory
stays bounded."""

from __future__ import annotations

import asyncio

import pytest
from support.latticerig import SimBoard, signed_actor
from support.memory import resident_kb

from edgegate.devices.boardclient import BoardClient, BoardError
from edgegate.devices.boardkey import BoardKey
from edgegate.wascap import ActorMetadata, KeyPair, SignedModule, sign_module
from edgegate.wascap.modules import custom_section

ALLOWED_GROWTH_KB = 8 * 1024
HONEST_TIMEOUT = 30.0  # a board holds back after proof failures (issue 18, item 2)


class FrameProxy:
    """A TCP proxy to the board that can replay or reorder the client's frames (a frame ends
    at each 0x00 delimiter) and records what the client sent."""

    def __init__(self, board: SimBoard):
        self.host, port = board.address.rsplit(":", 1)
        self.board_port = int(port)
        self.mode = "pass"  # or "twice" (every frame sent again) or "swap" (pairs reordered)
        self.recorded = bytearray()
        self._server: asyncio.AbstractServer | None = None
        self.port = 0

    async def start(self) -> FrameProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter):
        board_r, board_w = await asyncio.open_connection(self.host, self.board_port)
        await asyncio.gather(self._up(client_r, board_w), self._down(board_r, client_w),
                             return_exceptions=True)
        client_w.close()
        board_w.close()

    async def _up(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held = b""
        pending = b""
        while data := await reader.read(4096):
            self.recorded += data
            pending += data
            *frames, pending = pending.split(b"\x00")
            for frame in frames:
                if not frame:
                    continue
                frame += b"\x00"
                if self.mode == "twice":
                    writer.write(frame + frame)
                elif self.mode == "swap" and not held:
                    held = frame
                elif self.mode == "swap":
                    writer.write(frame + held)
                    held = b""
                else:
                    writer.write(frame)
            await writer.drain()
        writer.close()

    async def _down(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(4096):
            writer.write(data)
            await writer.drain()
        writer.close()


class Counter:
    """The counting actor on the board, called by clients: every call must count once."""

    def __init__(self, board: SimBoard, actor: str):
        self.board, self.actor = board, actor
        self.counted = 0

    async def client(self, port: int | None = None, key: BoardKey | None = None,
                     timeout: float = HONEST_TIMEOUT) -> BoardClient:
        host, board_port = self.board.address.rsplit(":", 1)
        return await BoardClient.connect_tcp(host, port or int(board_port),
                                             key or self.board.key, timeout)

    async def count(self, client: BoardClient) -> None:
        self.counted += 1
        assert await client.call(self.actor, "Count", b"") == bytes([self.counted & 0xFF])

    async def honest(self) -> None:
        client = await self.client()
        try:
            await self.count(client)
        finally:
            await client.close()


@pytest.fixture
async def counter(sim_boards, actors):
    board = sim_boards("kitchen", "-v")  # -v: the board's link drops on its console too
    module, _ = signed_actor(actors["faults"], "faults")
    await board.install(module)
    yield Counter(board, SignedModule(module).claims["sub"])


def console(counter: Counter) -> str:
    return counter.board.sim.stderr


async def test_an_unknown_board_id_and_a_wrong_pairing_key_get_no_session(counter):
    await counter.honest()
    before = resident_kb(counter.board.sim.process.pid)
    for _ in range(3):
        with pytest.raises(BoardError) as unknown:
            await counter.client(key=BoardKey("pantry", counter.board.key.pairing_key),
                                 timeout=3)
        with pytest.raises(BoardError) as wrong:
            await counter.client(key=BoardKey("kitchen", b"\x11" * 32), timeout=3)
    assert "it is not board 'pantry' (handshake failed: unknown board)" in str(unknown.value)
    assert "pairing key refused" in str(wrong.value)
    await counter.honest()  # served once the board's hold is over
    assert resident_kb(counter.board.sim.process.pid) - before < ALLOWED_GROWTH_KB
    text = console(counter)
    assert "gateway proof failed: pairing key mismatch?" in text, text[-2000:]


async def test_every_frame_replayed_runs_each_request_once(counter):
    proxy = await FrameProxy(counter.board).start()
    try:
        proxy.mode = "twice"
        client = await counter.client(proxy.port)
        try:
            for _ in range(20):
                await counter.count(client)  # each once: the count goes up by exactly one
        finally:
            await client.close()
    finally:
        await proxy.stop()
    await counter.honest()
    assert "dropped a frame (replay)" in console(counter), console(counter)[-2000:]


async def test_reordered_frames_are_dropped_and_never_run_a_request_twice(counter):
    proxy = await FrameProxy(counter.board).start()
    try:
        client = await counter.client(proxy.port, timeout=5)  # a lost request times out
        try:
            await counter.count(client)
            proxy.mode = "swap"  # from now on each pair of frames arrives newer first
            answers = await asyncio.gather(
                *(client.call(counter.actor, "Count", b"") for _ in range(4)),
                return_exceptions=True)
        finally:
            await client.close()
    finally:
        await proxy.stop()
    served = [a for a in answers if isinstance(a, bytes)]
    # whatever got through ran once: the counts answered are distinct and none is wrong
    assert len(set(served)) == len(served)
    for answer in answers:
        assert isinstance(answer, bytes | BoardError), answer
    counter.counted += len(served)
    await counter.honest()
    # the reliable link drops a frame that overtook a missing one and has it sent again
    assert "dropped a frame (out of order)" in console(counter), console(counter)[-2000:]


async def test_a_recorded_session_replayed_runs_nothing(counter):
    proxy = await FrameProxy(counter.board).start()
    try:
        client = await counter.client(proxy.port)
        try:
            for _ in range(3):
                await counter.count(client)
        finally:
            await client.close()
    finally:
        await proxy.stop()
    recorded = bytes(proxy.recorded)
    host, port = counter.board.address.rsplit(":", 1)
    before = resident_kb(counter.board.sim.process.pid)
    for _ in range(20):
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(recorded)
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.close()
    await counter.honest()  # counts 4: none of the replayed calls ran
    assert resident_kb(counter.board.sim.process.pid) - before < ALLOWED_GROWTH_KB
    # the replayed proof answers an old challenge: each connection logs it
    assert console(counter).count("gateway proof does not match the pairing key") >= 20


async def test_oversized_modules_and_payloads_are_refused_and_the_board_serves_on(
        counter, actors):
    # more than the profile's 4096 KiB of module flash
    huge = sign_module(actors["echo"] + custom_section("padding", bytes(5 * 1024 * 1024)),
                       KeyPair.generate("account"), KeyPair.generate("module"),
                       ActorMetadata("huge", []))
    token = SignedModule(huge).token
    client = await counter.client()
    try:
        before = resident_kb(counter.board.sim.process.pid)
        for _ in range(5):
            with pytest.raises(BoardError) as module_refused:
                await client.install(huge, token.text, token.claims["sub"])
            with pytest.raises(BoardError) as payload_refused:
                await client.call(counter.actor, "Count", b"x" * (600 * 1024))
            await counter.count(client)
        grown = resident_kb(counter.board.sim.process.pid) - before
    finally:
        await client.close()
    # the counter actor takes its whole 4 KiB sectors of the board's module region
    assert "does not fit the 4190208 bytes of flash free for modules" in str(module_refused.value)
    assert "body of 614400 bytes exceeds max_body" in str(payload_refused.value)
    assert grown < ALLOWED_GROWTH_KB
