"""The gateway's asyncio device link: request window, replies by id, time-outs, new sessions."""

from __future__ import annotations

import asyncio

import pytest
from linkpair import BOARD_ID, PAIRING_KEY, hello_message

from edgegate.devices.devicelink import DeviceLink
from edgelink.link import LinkClosed, LinkTimeout, board_link


class MemoryTransport:
    """The gateway's side of an in-memory pipe; the test plays the board on the other side."""

    name = "memory"

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[bytes] = asyncio.Queue()
        self.to_board: asyncio.Queue[bytes] = asyncio.Queue()

    async def read(self) -> bytes:
        return await self.incoming.get()

    async def write(self, data: bytes) -> None:
        await self.to_board.put(data)

    def send(self, data: bytes) -> None:
        self.to_board.put_nowait(data)

    async def close(self) -> None:
        await self.incoming.put(b"")


class Board:
    """A board end fed from the transport; it holds requests until the test answers them."""

    def __init__(self, transport: MemoryTransport, window: int) -> None:
        self.transport = transport
        self.link = board_link(BOARD_ID, PAIRING_KEY, self._write, log=None)
        self.window = window
        self.held: list[dict] = []
        self.most_held = 0
        self.task = asyncio.create_task(self._run())

    def _write(self, data) -> None:
        self.transport.incoming.put_nowait(bytes(data))

    async def _run(self) -> None:
        while True:
            data = await self.transport.to_board.get()
            for msg in self.link.feed(data):
                if msg["t"] == "invoke":
                    self.held.append(msg)
                    self.most_held = max(self.most_held, len(self.held))

    def answer_all(self) -> None:
        for msg in self.held:
            self.link.send({"t": "invoke_result", "id": msg["id"]}, msg["body"])
        self.held.clear()


async def connected(window: int = 2, **options) -> tuple[DeviceLink, Board, asyncio.Task]:
    transport = MemoryTransport()
    device = DeviceLink(transport, {BOARD_ID: PAIRING_KEY}, **options)
    runner = asyncio.create_task(device.run())
    board = Board(transport, window)
    board.link.on_open = lambda: board.link.send(hello_message(window=window))
    board.link.open()
    assert (await asyncio.wait_for(device.receive(), 5))["t"] == "hello"
    return device, board, runner


async def stop(device: DeviceLink, board: Board, runner: asyncio.Task) -> None:
    board.task.cancel()
    await device.transport.close()
    await runner


async def test_the_gateway_keeps_no_more_requests_in_flight_than_the_board_window():
    device, board, runner = await connected(window=2)
    invoke = {"t": "invoke", "actor": "M", "op": "Echo", "origin": "O"}
    requests = [asyncio.create_task(device.request(dict(invoke), bytes([i]))) for i in range(5)]
    for _ in range(10):
        await asyncio.sleep(0.02)
        board.answer_all()
    results = await asyncio.gather(*requests)
    assert [r["body"] for r in results] == [bytes([i]) for i in range(5)]
    assert board.most_held == 2
    await stop(device, board, runner)


async def test_a_request_without_a_reply_ends_with_a_clear_error():
    device, board, runner = await connected()
    with pytest.raises(LinkTimeout, match=r"invoke \d+: no reply within 0.1 s"):
        await device.request({"t": "invoke", "actor": "M", "op": "o", "origin": "O"}, b"x",
                             timeout=0.1)
    await stop(device, board, runner)


async def held(board: Board, count: int = 1) -> None:
    for _ in range(200):
        if len(board.held) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the board holds {len(board.held)} requests, not {count}")


async def test_a_request_waiting_when_the_board_opens_a_new_session_is_answered_in_it():
    device, board, runner = await connected()
    pending = asyncio.create_task(
        device.request({"t": "invoke", "actor": "M", "op": "o", "origin": "O"}, b"x"))
    await held(board)
    board.held.clear()  # its answer would go out in the old session, which ends now
    board.link.open()
    await held(board)  # sent again once the new session's hello has come
    board.answer_all()
    assert (await asyncio.wait_for(pending, 5))["body"] == b"x"
    await stop(device, board, runner)


async def test_an_answer_given_to_another_gateway_s_request_of_that_id_is_not_taken():
    device, board, runner = await connected()
    pending = asyncio.create_task(
        device.request({"t": "invoke", "actor": "M", "op": "o", "origin": "O"}, b"mine"))
    await held(board)
    # a board on a serial line still answering the gateway that had the line before
    board.link.send({"t": "invoke_result", "id": board.held[0]["id"], "link": "0ther1ink"},
                    b"the last gateway's")
    board.answer_all()
    assert (await asyncio.wait_for(pending, 5))["body"] == b"mine"
    await stop(device, board, runner)


async def test_a_request_given_up_aborts_its_body_on_the_board_too():
    device, board, runner = await connected()
    big = bytes(range(256)) * 200  # chunked: far more than one frame
    with pytest.raises(LinkTimeout):
        await device.request({"t": "invoke", "actor": "M", "op": "o", "origin": "O"}, big,
                             timeout=0.01)
    for _ in range(200):
        if not board.link._incoming and not device.link.busy:
            break
        await asyncio.sleep(0.01)
    assert board.link._incoming == {} and not device.link.busy
    assert board.held == []
    await stop(device, board, runner)


async def test_requests_after_the_transport_closed_are_refused():
    device, board, runner = await connected()
    await stop(device, board, runner)
    with pytest.raises(LinkClosed):
        await device.receive()
    with pytest.raises(LinkClosed, match="memory is closed"):
        await device.request({"t": "ping"})


async def until(condition, what: str) -> None:
    for _ in range(300):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never {what}")


async def counted_ticks_once_quiet(device: DeviceLink, board: Board) -> list[int]:
    """The device link's ticks from the moment both ends have nothing more to say."""
    ticks: list[int] = []
    tick = device.link.tick
    device.link.tick = lambda: ticks.append(1) or tick()
    await until(lambda: device.link.quiet and not board.link.delivery.pending,
                "quiet after the hello")
    await asyncio.sleep(0.1)  # the tick that found it quiet
    ticks.clear()
    return ticks


async def test_a_quiet_link_stops_ticking_until_traffic_comes():
    # a gateway with a hundred idle boards would otherwise tick two thousand times a second
    device, board, runner = await connected()
    ticks = await counted_ticks_once_quiet(device, board)
    await asyncio.sleep(0.3)  # six ticks' time, and shorter than the quiet link's wait
    assert ticks == []
    # traffic wakes it: the board's reply is taken and acknowledged as before
    pending = asyncio.create_task(
        device.request({"t": "invoke", "actor": "M", "op": "o", "origin": "O"}, b"x"))
    await held(board)
    board.answer_all()
    assert (await asyncio.wait_for(pending, 5))["body"] == b"x"
    await until(lambda: not board.link.delivery.pending, "acknowledged the board's reply")
    assert ticks
    await stop(device, board, runner)


async def test_a_quiet_link_wakes_next_when_its_keepalive_is_due():
    # a hundred idle boards on one gateway: one tick each per keepalive, not two a second
    device, board, runner = await connected(keepalive_ms=2000)
    board.link._keepalive_ms = 60_000  # only the gateway's keepalive is watched here
    ticks = await counted_ticks_once_quiet(device, board)
    heard = board.link.records
    await asyncio.sleep(1.2)  # more than twice the least a quiet link waits
    assert ticks == [] and board.link.records == heard
    # the keepalive still goes when it is due, and the board's acknowledgement answers it
    await until(lambda: board.link.records > heard, "sent the keepalive")
    assert ticks
    await stop(device, board, runner)
