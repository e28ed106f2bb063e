"""The gateway end of one board's link for asyncio: requests and replies, the board's messages."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Mapping
from typing import Any

from edgegate.devices import cobsc, msgpackc
from edgegate.devices.transports import Transport, TransportError
from edgelink import messages
from edgelink.clock import ticks_diff, ticks_ms
from edgelink.delivery import KEEPALIVE_MS
from edgelink.link import LinkClosed, LinkError, LinkTimeout, gateway_link

log = logging.getLogger(__name__)

TICK_SECONDS = 0.05
# a quiet link's tick has only the keepalive to see to, when the board has been silent for
# keepalive_ms: with a hundred boards on one gateway, ticks that find nothing to do cost more
# than the calls; this is the least a quiet link waits
QUIET_TICK_SECONDS = 0.5
_ENDED = {"t": "", "id": 0}  # put in the inbox when the link ends; receive() raises then


def _expire(future: asyncio.Future[Any], what: str, request_id: int, timeout: float) -> None:
    if not future.done():
        future.set_exception(LinkTimeout(f"{what} {request_id}: no reply within {timeout} s"))


class DeviceLink:
    """Runs the link protocol over a transport; `run()` until the board goes away.

    Requests (`request`) wait for their reply; whatever else the board sends (hello, host
    calls, health, logs, events) comes out of `receive()`. The gateway never has more requests
    or unacknowledged chunks outstanding than the window the board advertised in its hello.
    A request still waiting when the board opens a new session is sent again in it, once the
    board's hello there has said its limits; one given up (timed out, cancelled) has its body
    transfer aborted on both ends. Every request names this link (`epoch`), and a reply that
    names another link answers none of them.
    """

    def __init__(self, transport: Transport, pairing_keys: Mapping[bytes, bytes], *,
                 max_frame: int = 16384, window: int = 8, max_body: int = 4 * 1024 * 1024,
                 stall_ms: int = 2000, retries: int = 3, keepalive_ms: int = KEEPALIVE_MS):
        self.transport = transport
        self._keepalive_ms = keepalive_ms
        # names this link in every request, and the board names it in the reply: request ids
        # start afresh with every link, so a remembered outcome or a late reply of another
        # link's request of the same id must not be taken for this one's
        self.epoch = secrets.token_hex(4)
        self.link = gateway_link(dict(pairing_keys), self._queue_bytes, max_frame=max_frame,
                                 window=window, max_body=max_body, log=self._log_drop,
                                 stall_ms=stall_ms, retries=retries, keepalive_ms=keepalive_ms,
                                 cobs=cobsc.CODEC, msgpack=msgpackc.CODEC)
        self.link.on_open = self._session_opened
        self.link.on_dead = self._peer_gone
        self.opened = asyncio.Event()
        self._out = bytearray()  # frames of this turn of the loop, sent together at its end
        # the next tick, a timer rather than a task that sleeps: one per board and per call
        self._ticker: asyncio.TimerHandle | None = None
        self._quiet = False  # the ticker is the quiet link's; traffic brings it forward
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._sent: dict[int, tuple[dict[str, Any], bytes | None]] = {}  # to send again
        self._resend = False  # a new session opened: resend once its hello has come
        self._slot_waiters: list[asyncio.Future[None]] = []  # requests beyond the window
        self._in_flight = 0
        self._closed = False
        # bytes each way, framing included: bytes in tell a silent board from one that refuses
        # the handshake; bytes out show how far an upload has gone
        self.bytes_in = 0
        self.bytes_out = 0

    def _log_drop(self, line: str) -> None:
        log.warning("%s: %s", self.transport.name, line)

    @property
    def drops(self) -> dict[str, int]:
        """Frames dropped so far, by reason."""
        return dict(self.link.drops.counts)

    @property
    def board_id(self) -> bytes | None:
        return self.link.session.board_id if self.link.session.is_open else None

    def _queue_bytes(self, data: memoryview) -> None:
        if not self._out:
            asyncio.get_running_loop().call_soon(self._send_out)
        self._out.extend(data)
        if self._quiet:
            self._tick_soon()

    def _send_out(self) -> None:
        data = bytes(self._out)
        self._out.clear()
        if self._closed:
            return
        try:
            self.transport.send(data)
        except TransportError as exc:
            log.warning("%s", exc)
            return
        self.bytes_out += len(data)

    def _session_opened(self) -> None:
        self._resend = bool(self._waiting)
        self.opened.set()

    def _peer_gone(self, reason: str) -> None:
        # the session is over; what waits is sent again if the board opens a new one
        log.warning("%s: the board stopped answering (%s); asking it for a new session",
                    self.transport.name, reason)
        self._resend = bool(self._waiting)
        self.ask_to_open()

    def _send_again(self) -> None:
        for request_id, future in list(self._waiting.items()):
            if future.done():
                continue
            msg, body = self._sent[request_id]
            try:
                self.link.send(dict(msg), body)
            except LinkError as exc:
                future.set_exception(exc)

    def _deliver(self, inbox: list[dict[str, Any]]) -> None:
        for msg in inbox:
            # what the board sends in answer to a request is matched to it by id
            reply = messages.is_reply(msg["t"], messages.BOARD)
            if reply and msg.get("link", self.epoch) != self.epoch:
                log.warning("%s: dropped a %s for request %d of another link (%s)",
                            self.transport.name, msg["t"], msg["id"], msg["link"])
                continue
            future = self._waiting.get(msg["id"]) if reply else None
            if future is not None and not future.done():
                future.set_result(msg)
            else:
                self._inbox.put_nowait(msg)
            if msg["t"] == "hello" and self._resend:
                self._resend = False
                self._send_again()

    async def run(self) -> None:
        """Read, tick and write until the transport closes."""
        self._tick_soon()
        try:
            while True:
                data = await self.transport.read()
                if not data:
                    break
                self.bytes_in += len(data)
                self._deliver(self.link.feed(data))
                if self._quiet:
                    self._tick_soon()
        finally:
            self._closed = True
            if self._ticker is not None:
                self._ticker.cancel()
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(LinkClosed(f"{self.transport.name} closed"))
            self._inbox.put_nowait(_ENDED)

    def _tick_soon(self) -> None:
        """Tick in TICK_SECONDS: bytes went out or came in (or the link has just begun)."""
        if self._ticker is not None:
            self._ticker.cancel()
        self._quiet = False
        self._ticker = asyncio.get_running_loop().call_later(TICK_SECONDS, self._tick)

    def _tick(self) -> None:
        if self._closed:
            return
        delay = TICK_SECONDS
        try:
            self._deliver(self.link.tick())
            self._quiet = self.link.quiet
            if self._quiet:
                silent_ms = ticks_diff(ticks_ms(), self.link.delivery.heard_at)
                delay = max(QUIET_TICK_SECONDS, (self._keepalive_ms - silent_ms) / 1000)
        finally:  # a tick that failed (the loop logs it) must not be the last
            self._ticker = asyncio.get_running_loop().call_later(delay, self._tick)

    def _give_up(self, request_id: int) -> None:
        # nobody waits for the answer any more: the body stops taking the line (and the
        # board's turn for bodies) on both ends
        try:
            self.link.cancel(request_id, "the gateway gave up the request")
        except LinkError:
            pass  # no session: the transfer has gone with it

    def ask_to_open(self) -> None:
        """Ask the board to open a session (it may still hold one from before we started)."""
        self.link.session.ask()

    async def receive(self) -> dict[str, Any]:
        """The board's next message that is not a reply; LinkClosed once the link has ended
        and every message that came before has been taken."""
        msg = await self._inbox.get()
        if msg is _ENDED:
            self._inbox.put_nowait(_ENDED)  # and for every later receive()
            raise LinkClosed(f"{self.transport.name} closed")
        return msg

    def send(self, msg: dict[str, Any], body: bytes | None = None) -> int:
        """Send a message that needs no reply (ready, host_result, error); returns its id."""
        return self.link.send(msg, body)

    async def request(self, msg: dict[str, Any], body: bytes | None = None,
                      timeout: float | None = 30.0) -> dict[str, Any]:
        """Send a request and wait for its reply (which may be an error message)."""
        if self._closed:
            raise LinkClosed(f"{self.transport.name} is closed")
        while self._in_flight >= self.link.peer_window:
            await self._wait_for_slot()
        self._in_flight += 1
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        timer = None
        request_id = -1
        try:
            msg["id"] = msg.get("id") or self.link.new_id()
            msg["link"] = self.epoch
            request_id = msg["id"]
            self._waiting[request_id] = future
            self._sent[request_id] = (dict(msg), body)
            self.link.send(msg, body)
            if timeout is not None:
                timer = loop.call_later(timeout, _expire, future, msg.get("t"), request_id,
                                        timeout)
            return await future
        finally:
            if timer is not None:
                timer.cancel()
            self._waiting.pop(request_id, None)
            self._sent.pop(request_id, None)
            if not future.done() or future.cancelled() or \
                    isinstance(future.exception(), LinkTimeout):
                self._give_up(request_id)
            self._in_flight -= 1
            # every waiter looks again: the window may also have grown with a hello
            waiters, self._slot_waiters = self._slot_waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    async def _wait_for_slot(self) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._slot_waiters.append(waiter)
        try:
            await waiter
        finally:
            if waiter in self._slot_waiters:
                self._slot_waiters.remove(waiter)
