"""One board's opened link: the handshake, hello and ready, then requests and its messages.

Shared by the direct client (`edgehost board`) and the gateway's per-board lattice host, so
the two greet a board the same way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from edgegate.devices.devicelink import DeviceLink
from edgegate.devices.transports import Transport
from edgelink.frame import LINE_NOISE
from edgelink.link import LinkClosed, LinkError, LinkTimeout
from edgelink.messages import ABORTED
from edgelink.session import DROP_UNKNOWN_BOARD

log = logging.getLogger(__name__)

GATEWAY_MAX_FRAME = 16384
GATEWAY_WINDOW = 8
FIRST_ASK_SECONDS = 0.1  # a board reached afresh (TCP accept) opens by itself within it
ASK_AGAIN_SECONDS = 1.0
# the handshake's own bound, apart from the request timeout: a board that has answered this
# many challenges with nothing, over at least HANDSHAKE_SECONDS, holds another pairing key
UNANSWERED_CHALLENGES = 3
HANDSHAKE_SECONDS = 2.0
CLOSE_SECONDS = 2.0
MIN_WAIT_SECONDS = 0.1  # what a request is given at least, however little its deadline leaves
UPLOAD_POLL_SECONDS = 0.1  # how often an upload's progress is looked at

Handler = Callable[[dict[str, Any]], Awaitable[None] | None]
Closed = Callable[[], Awaitable[None] | None]


class BoardError(Exception):
    """What went wrong talking to a board, as one line for the user."""


class BoardRefused(BoardError):
    """The board answered a request with an `error` message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class BoardSession:
    """A board over one transport: greeted, then serving requests both ways.

    `open()` waits for the board's session and hello (answering it with `ready` naming
    `host_name`); every later hello (the board rebooted, or opened a new session) is
    answered the same way and reported to `on_hello`. Whatever else the board sends on its
    own (host calls, logs, events, health) goes to the handler `handlers` has for its type;
    a type without one is let go. When DeviceLink says the link has ended (LinkClosed),
    `on_closed` is called, after every message that came before.
    """

    def __init__(self, transport: Transport, keys: Mapping[str, bytes], where: str,
                 host_name: str | Callable[[str], str], timeout: float = 10.0,
                 handlers: Mapping[str, Handler] | None = None,
                 on_hello: Handler | None = None, on_closed: Closed | None = None,
                 max_body: int = 4 * 1024 * 1024):
        self.where = where
        self.keys = dict(keys)
        # one key: that board is expected; several (a listening port): whichever opens
        self.board_id = next(iter(self.keys)) if len(self.keys) == 1 else ""
        self.host_name = host_name
        self.timeout = timeout
        self.hello: dict[str, Any] = {}
        self.hello_at = 0.0  # when the hello came (monotonic), from which its uptime counts on
        self.handlers: Mapping[str, Handler] = handlers or {}
        self.on_hello = on_hello
        self.on_closed = on_closed
        self.transport = transport
        self.device = DeviceLink(self.transport,
                                 {board.encode(): key for board, key in self.keys.items()},
                                 max_frame=GATEWAY_MAX_FRAME, window=GATEWAY_WINDOW,
                                 max_body=max_body)
        self.greeted = asyncio.Event()
        self.closed = asyncio.Event()
        self._runner = asyncio.create_task(self.device.run())
        self._server = asyncio.create_task(self._serve())

    # -- greeting

    async def open(self) -> dict[str, Any]:
        """Wait for the board's session and hello, asking it to open one while none comes.

        A board that has just been reached (a TCP accept) opens a session by itself; one that
        still holds a session from an earlier client needs an ASK. The first ASK waits a moment
        and later ones are a second apart: an ASK that crosses the board's own OPEN on the wire
        makes the two ends answer different challenges, and only a later ASK repairs that. A
        session without a hello (it was lost on the line) is asked for again the same way. A
        board that leaves a few challenges unanswered is given up on before the timeout.
        """
        started = time.monotonic()
        deadline = started + self.timeout
        greeted = asyncio.create_task(self.greeted.wait())
        closed = asyncio.create_task(self.closed.wait())
        wait = FIRST_ASK_SECONDS
        last_heard = -1
        try:
            while True:
                left = deadline - time.monotonic()
                done, _ = await asyncio.wait({greeted, closed}, timeout=min(wait, left),
                                             return_when=asyncio.FIRST_COMPLETED)
                if done or left <= wait or DROP_UNKNOWN_BOARD in self.device.drops or \
                        self.device.link.session.turned_away:
                    # an id not in the key file, or a board that serves another, will not
                    # change by waiting
                    break
                if self._key_refused(started):
                    break
                heard = self.device.bytes_in
                # an open session whose hello is still on its way (a slow line) keeps going
                if not self.device.opened.is_set() or heard == last_heard:
                    self.device.ask_to_open()
                last_heard = heard
                wait = ASK_AGAIN_SECONDS
        finally:
            greeted.cancel()
            closed.cancel()
        if self.greeted.is_set():
            said = self.hello.get("board")
            if len(self.keys) == 1 and said != self.board_id:
                raise BoardError(f"board at {self.where}: it says it is {said!r}, not "
                                 f"{self.board_id!r} as the key file says")
            opened = self.device.board_id
            if opened is None or said != opened.decode(errors="replace"):
                raise BoardError(f"board at {self.where}: it says it is {said!r} but opened "
                                 f"its session as {opened!r}")
            self.board_id = said
            return self.hello
        raise BoardError(self._why_no_session())

    def _key_refused(self, started: float) -> bool:
        session = self.device.link.session
        return (not session.is_open and session.unanswered >= UNANSWERED_CHALLENGES
                and time.monotonic() - started >= HANDSHAKE_SECONDS)

    def _why_no_session(self) -> str:
        drops = self.device.drops
        if self.device.link.session.turned_away:
            return (f"board at {self.where}: busy with another connection (a gateway, or "
                    f"another edgehost board command); try again once that one has ended")
        if DROP_UNKNOWN_BOARD in drops:
            return (f"board at {self.where}: it is not board {self.board_id!r} (handshake "
                    f"failed: unknown board); check --key-file")
        if self.device.opened.is_set():
            return f"board at {self.where}: no hello within {self.timeout:g} s of the handshake"
        received = self.device.bytes_in
        if received and not self.device.link.records:
            # bytes, but not one frame of the link: something else listens there
            if drops and set(drops) <= set(LINE_NOISE):
                return (f"board at {self.where}: only unreadable frames within "
                        f"{self.timeout:g} s ({', '.join(sorted(drops))}); check --baud and "
                        f"that it runs edgehost")
            return (f"board at {self.where}: what answers there does not speak the edgehost "
                    f"link ({received} bytes, not one frame); check the address")
        if self.closed.is_set():
            return f"board at {self.where}: the connection closed during the handshake"
        if received == 0:
            return f"board at {self.where}: no answer within {self.timeout:g} s"
        unanswered = self.device.link.session.unanswered
        return (f"board at {self.where}: pairing key refused? (the board answered none of "
                f"{unanswered} challenges); check --key-file")

    async def _serve(self) -> None:
        while True:
            try:
                msg = await self.device.receive()
            except LinkClosed:
                # the link's end is an event of this end, not a message: nothing on the wire
                # may claim it
                self.closed.set()
                await self._call(self.on_closed)
                return
            if msg["t"] == "hello":
                await self._greet(msg)
            else:
                await self._call(self.handlers.get(msg["t"]), msg)

    async def _greet(self, msg: dict[str, Any]) -> None:
        self.hello, self.hello_at = msg, time.monotonic()
        host = self.host_name
        if callable(host):
            host = host(str(msg.get("board", "")))
        self.device.send({"t": "ready", "host": host,
                          "max_frame": GATEWAY_MAX_FRAME, "window": GATEWAY_WINDOW})
        self.greeted.set()
        await self._call(self.on_hello, msg)

    async def _call(self, handler: Callable[..., Awaitable[None] | None] | None,
                    *args: dict[str, Any]) -> None:
        if handler is None:
            return
        try:
            result = handler(*args)
            if asyncio.iscoroutine(result):
                await result
        except Exception:  # one bad message must not end the board's service
            log.exception("%s: handling %s failed", self.where,
                          args[0].get("t") if args else "the link's end")

    def now(self) -> dict[str, Any]:
        """The board's hello as it would say it now: its uptime counted on from the hello, and
        the free memory and flash of its latest budget (each install, swap and removal brings
        one; a hello's free figures are its budget's)."""
        now = dict(self.hello)
        if isinstance(now.get("uptime_ms"), int):
            now["uptime_ms"] += int((time.monotonic() - self.hello_at) * 1000)
        budget = now.get("budget")
        if isinstance(budget, dict):
            now["free_mem"] = budget.get("ram_free", now.get("free_mem"))
            now["free_flash"] = budget.get("flash_free", now.get("free_flash"))
        return now

    # -- requests

    @property
    def wire_bytes(self) -> tuple[int, int]:
        """Bytes written to and read from the board so far, framing included."""
        return self.device.bytes_out, self.device.bytes_in

    def send(self, msg: dict[str, Any], body: bytes | None = None) -> None:
        """A message that needs no reply; quietly nothing when the session went away."""
        try:
            self.device.send(msg, body)
        except LinkError:
            pass  # the board gives up on its own when its session is gone

    async def request(self, msg: dict[str, Any], body: bytes | None = None,
                      timeout: float | None = None,
                      deadline: float | None = None) -> dict[str, Any]:
        """Send a request and return its reply; BoardRefused for an `error` reply.

        The reply is waited for `timeout` seconds (the session's when None), or until the
        monotonic `deadline` of a command whose whole run the session's timeout bounds."""
        what = msg["t"]
        wait = self.timeout if timeout is None else timeout
        if deadline is not None:
            wait = max(deadline - time.monotonic(), MIN_WAIT_SECONDS)
        try:
            reply = await self.device.request(msg, body, timeout=wait)
        except LinkError as exc:
            # a deadline's wait is what was left of the session's timeout: name the timeout
            raise self.link_failed(what, exc, wait if deadline is None else None) from None
        return checked(reply)

    async def upload(self, msg: dict[str, Any], body: bytes,
                     progress: Callable[[int], None] | None = None,
                     timeout: float | None = None) -> dict[str, Any]:
        """Send a request whose body is a module and return its reply; BoardRefused for an
        `error` reply.

        While the body moves the wait goes on: `timeout` (the session's when None) counts from
        the last byte put on the wire, and `progress` is called with the bytes put on the wire
        so far (the link itself gives up on a transfer the board stops acknowledging, and
        that is a broken line, not the board saying no).
        """
        what = msg["t"]
        wait = self.timeout if timeout is None else timeout
        start = self.device.bytes_out
        request = asyncio.create_task(self.device.request(msg, body, timeout=None))
        sent, last_move = 0, time.monotonic()
        try:
            while not request.done():
                await asyncio.wait({request}, timeout=UPLOAD_POLL_SECONDS)
                now_sent = self.device.bytes_out - start
                if now_sent != sent:
                    sent, last_move = now_sent, time.monotonic()
                    if progress is not None:
                        progress(sent)
                elif time.monotonic() - last_move > wait:
                    raise BoardError(f"board at {self.where}: no answer to {what} within "
                                     f"{wait:g} s")
            reply = request.result()
        except LinkError as exc:
            raise self.link_failed(what, exc) from None
        finally:
            request.cancel()
        if reply["t"] == "error" and reply.get("code") == ABORTED:
            raise BoardError(f"board at {self.where}: the upload stopped: {reply.get('message')}")
        return checked(reply)

    def link_failed(self, what: str, exc: LinkError, timeout: float | None = None) -> BoardError:
        if isinstance(exc, LinkTimeout):
            wait = self.timeout if timeout is None else timeout
            return BoardError(f"board at {self.where}: no answer to {what} within {wait:g} s")
        if self.closed.is_set():
            return BoardError(f"board at {self.where}: the connection closed before the board "
                              f"answered {what}")
        return BoardError(f"board at {self.where}: {what} failed: {exc}")

    async def close(self) -> None:
        self._server.cancel()
        try:
            # bounded: a peer that stopped reading must not keep us from hanging up
            await asyncio.wait_for(self.transport.close(), CLOSE_SECONDS)
        except (TimeoutError, OSError):
            pass
        try:
            await asyncio.wait_for(self._runner, 2.0)
        except (TimeoutError, asyncio.CancelledError, LinkError, OSError):
            self._runner.cancel()
        try:
            await self._server
        except asyncio.CancelledError:
            pass


def checked(reply: dict[str, Any]) -> dict[str, Any]:
    if reply["t"] == "error":
        raise BoardRefused(str(reply.get("code", "")), str(reply.get("message", "")))
    return reply
