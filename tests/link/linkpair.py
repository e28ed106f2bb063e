"""A board end and a gateway end of the link joined by an in-memory wire, for the link tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edgelink.delivery import ACK_DELAY_MS
from edgelink.link import Link, board_link, gateway_link

BOARD_ID = b"board-7"
PAIRING_KEY = bytes(range(32))


class Clock:
    """Milliseconds that only move when a test says so."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


class Wire:
    """Bytes in flight one way; `tamper` may rewrite each write (noise, loss, replay)."""

    def __init__(self) -> None:
        self.pending: list[bytes] = []
        self.sent: list[bytes] = []
        self.tamper: Callable[[bytes], bytes] | None = None

    def write(self, data: Any) -> None:
        data = bytes(data)
        self.sent.append(data)
        self.pending.append(self.tamper(data) if self.tamper else data)


class LinkPair:
    """A board end and a gateway end, with what each has received so far."""

    def __init__(self, board_kwargs: dict | None = None, gateway_kwargs: dict | None = None,
                 keys: dict[bytes, bytes] | None = None, board_key: bytes = PAIRING_KEY):
        self.clock = Clock()
        self.up = Wire()
        self.down = Wire()
        self.board_log: list[str] = []
        self.gateway_log: list[str] = []
        self.board: Link = board_link(BOARD_ID, board_key, self.up.write, clock=self.clock,
                                      log=self.board_log.append, **(board_kwargs or {}))
        self.gateway: Link = gateway_link(
            {BOARD_ID: PAIRING_KEY} if keys is None else keys, self.down.write,
            clock=self.clock, log=self.gateway_log.append, **(gateway_kwargs or {}))
        self.at_board: list[dict] = []
        self.at_gateway: list[dict] = []

    def pump(self, rounds: int = 10_000) -> None:
        """Carry bytes both ways until the wire is quiet; an acknowledgement that waits for a
        frame to ride on goes alone after its delay, as it would in real time."""
        for _ in range(rounds):
            if not self.up.pending and not self.down.pending:
                if not self._acks_due():
                    return
                self.clock.now += ACK_DELAY_MS
                self.at_board += self.board.tick()
                self.at_gateway += self.gateway.tick()
                continue
            while self.up.pending:
                self.at_gateway += self.gateway.feed(self.up.pending.pop(0))
            while self.down.pending:
                self.at_board += self.board.feed(self.down.pending.pop(0))
        raise AssertionError("the link never went quiet")

    def _acks_due(self) -> bool:
        return any(end.session.is_open and end.delivery._ack_since is not None
                   for end in (self.board, self.gateway))

    def tick(self, ms: int) -> None:
        self.clock.now += ms
        self.at_board += self.board.tick()
        self.at_gateway += self.gateway.tick()
        self.pump()

    def connect(self) -> None:
        self.board.open()
        self.pump()
        assert self.board.session.is_open and self.gateway.session.is_open

    def hello(self, max_frame: int = 1024, window: int = 4) -> None:
        """Exchange hello and ready so both ends know each other's limits."""
        self.board.send(hello_message(max_frame, window))
        self.pump()
        self.gateway.send({"t": "ready", "host": "NHOST", "max_frame": 16384, "window": 8})
        self.pump()
        self.at_board.clear()
        self.at_gateway.clear()


def hello_message(max_frame: int = 1024, window: int = 4) -> dict:
    return {"t": "hello", "board": BOARD_ID.decode(), "firmware": "0.1.0", "engine": "wasm3",
            "profile": "esp32-devkitc", "max_frame": max_frame, "window": window,
            "free_mem": 90_000, "free_flash": 1_500_000, "actors": {}}
