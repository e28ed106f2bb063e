"""Generate the link's test vectors (tests/link/vectors.json), once, from the CPython code.

Run: .venv/bin/python tools/link_vectors.py  — the tests check the same vectors under CPython
and MicroPython, so a change to the wire format shows up as a vector that no longer holds.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from pathlib import Path
from typing import Any

from edgelink import frame, session
from edgelink.link import board_link, gateway_link
from edgelink.mpack import packb

OUT = Path(__file__).resolve().parent.parent / "tests" / "link" / "vectors.json"
BOARD_ID = b"vector-board"
KEY = hashlib.sha256(b"edgelink test vector pairing key").digest()
MAX_FRAME = 256


def nonces(label: str) -> list[bytes]:
    return [hashlib.sha256(f"{label} nonce {i}".encode()).digest()[:16] for i in range(8)]


class Recorder:
    """A board and a gateway on an in-memory wire; every action, feed and write is recorded."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.pending = {"board": [], "gateway": []}
        board_nonces = iter(nonces("board"))
        gateway_nonces = iter(nonces("gateway"))
        self.ends = {
            "board": board_link(BOARD_ID, KEY, lambda d: self._wrote("board", d),
                                max_frame=MAX_FRAME, window=2, log=None, clock=lambda: 0,
                                random=lambda: next(board_nonces)),
            "gateway": gateway_link({BOARD_ID: KEY}, lambda d: self._wrote("gateway", d),
                                    clock=lambda: 0, random=lambda: next(gateway_nonces)),
        }

    def _wrote(self, end: str, data: memoryview) -> None:
        self.events.append({"from": end, "wire": bytes(data).hex()})
        self.pending["gateway" if end == "board" else "board"].append(bytes(data))

    def inject(self, to: str, data: bytes) -> None:
        """Bytes from someone else on the wire (noise, a forger, a replayer)."""
        self.pending[to].append(data)

    def pump(self) -> None:
        while self.pending["board"] or self.pending["gateway"]:
            for end in ("gateway", "board"):
                while self.pending[end]:
                    data = self.pending[end].pop(0)
                    event: dict[str, Any] = {"to": end, "wire": data.hex()}
                    self.events.append(event)
                    event["delivers"] = [packb(m).hex() for m in self.ends[end].feed(data)]

    def open(self) -> None:
        self.events.append({"do": "open", "by": "board"})
        self.ends["board"].open()
        self.pump()

    def send(self, by: str, msg: dict[str, Any], body: bytes | None = None) -> None:
        action = {"do": "send", "by": by, "msg": packb(msg).hex()}
        if body is not None:
            action["body"] = body.hex()
        self.events.append(action)
        self.ends[by].send(dict(msg), body)
        self.pump()

    def finish(self, name: str) -> dict[str, Any]:
        return {"name": name, "events": self.events,
                "drops": {end: link.drops.counts for end, link in self.ends.items()}}


HELLO = {"t": "hello", "id": 1, "board": "vector-board", "firmware": "0.1.0", "engine": "wasm3",
         "profile": "esp32-devkitc", "max_frame": MAX_FRAME, "window": 2, "free_mem": 81920,
         "free_flash": 1048576, "actors": {"MECHO": hashlib.sha256(b"echo").digest()}}
READY = {"t": "ready", "id": 2, "host": "NBOARDHOST", "max_frame": 16384, "window": 8}


def greeted() -> Recorder:
    rec = Recorder()
    rec.open()
    rec.send("board", HELLO)
    rec.send("gateway", READY)
    return rec


def session_scenarios() -> list[dict[str, Any]]:
    scenarios = []

    rec = greeted()
    rec.send("gateway", {"t": "ping", "id": 4})
    rec.send("board", {"t": "log", "id": 3, "level": "info", "text": "héllo"})
    rec.send("gateway", {"t": "invoke", "id": 6, "actor": "MECHO", "op": "Echo",
                         "origin": "MCALLER"}, b"\x00\x01\x02")
    rec.send("board", {"t": "invoke_result", "id": 6}, b"\x02\x01\x00")
    scenarios.append(rec.finish("handshake and messages"))

    rec = greeted()
    module = bytes((i * 13) % 256 for i in range(3000))
    rec.send("gateway", {"t": "install", "id": 8, "actor": "MBIG",
                         "sha256": hashlib.sha256(module).digest()}, module)
    rec.send("board", {"t": "installed", "id": 8, "actor": "MBIG",
                       "sha256": hashlib.sha256(module).digest()})
    scenarios.append(rec.finish("chunked install"))

    rec = greeted()
    rec.send("board", {"t": "log", "id": 3, "level": "info", "text": "before"})
    rec.open()
    rec.send("board", {"t": "log", "id": 5, "level": "info", "text": "after"})
    scenarios.append(rec.finish("reconnect"))

    rec = greeted()
    rec.send("board", {"t": "log", "id": 3, "level": "info", "text": "genuine"})
    genuine = bytes.fromhex(rec.events[-2]["wire"])
    rec.inject("gateway", genuine)  # replayed
    body = packb({"t": "log", "id": 5, "level": "info", "text": "forged"})
    forged = bytes([session.DATA]) + (77).to_bytes(4, "big") + body + bytes(session.MAC)
    rec.inject("gateway", bytes(frame.FrameWriter(MAX_FRAME).encode(forged)))
    noisy = bytearray(genuine)
    noisy[9] ^= 0x04
    rec.inject("gateway", bytes(noisy))
    rec.send("gateway", {"t": "remove", "id": 4, "actor": "M"})
    reflected = bytes.fromhex(next(e["wire"] for e in reversed(rec.events)
                                   if e.get("from") == "gateway"))
    rec.inject("gateway", reflected)
    rec.send("gateway", {"t": "ping", "id": 6})
    writer = frame.FrameWriter(MAX_FRAME)
    stranger = bytes([session.OPEN, 8]) + b"stranger" + bytes(16)
    rec.inject("gateway", bytes(writer.encode(stranger)))  # a board the gateway does not know
    challenge = bytes([session.CHALLENGE]) + bytes(16 + 32)
    rec.inject("board", bytes(writer.encode(challenge)))  # nobody asked for a challenge
    rec.pump()
    unknown = packb({"t": "reboot", "id": 8})
    rec.events.append({"do": "raw", "by": "gateway", "body": unknown.hex()})
    rec.ends["gateway"].session.send(unknown)
    rec.pump()
    scenarios.append(rec.finish("rejected inputs"))
    return scenarios


def frame_vectors() -> dict[str, Any]:
    writer = frame.FrameWriter(MAX_FRAME)
    good = []
    for record in (b"", b"\x00", b"\x00\x00", bytes(range(1, 252)), bytes(251), b"edgelink"):
        good.append({"record": record.hex(), "wire": bytes(writer.encode(record)).hex()})
    plain = b"\x02abc"
    plain += zlib.crc32(plain).to_bytes(4, "big")
    wrong_version = bytearray(32)
    n = frame.cobs_encode(plain, len(plain), wrong_version)
    flipped = bytearray(writer.encode(b"edgelink"))
    flipped[4] ^= 0x01
    rejected = [
        {"wire": (bytes(wrong_version[:n])).hex(), "reason": "version"},
        {"wire": bytes(flipped).hex(), "reason": "crc"},
        {"wire": "0a41424300", "reason": "cobs"},
        {"wire": "0201020100", "reason": "short"},
        {"wire": ("ff" * (MAX_FRAME + 10)) + "00", "reason": "oversize"},
    ]
    return {"max_frame": MAX_FRAME, "good": good, "rejected": rejected}


def mpack_vectors() -> list[dict[str, str]]:
    values = [None, True, False, 0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32,
              2**64 - 1, -1, -32, -33, -128, -129, -32768, -32769, -(2**31), -(2**31) - 1,
              -(2**63), 0.5, -2.25, 1e300, "", "a", "é" * 20, "x" * 31, "x" * 32, "y" * 256,
              b"", b"\x00" * 255, b"\x01" * 256, [], [1, [2, [3]]], list(range(16)), {},
              {"a": 1, "b": [b"\xff", None]}, {str(i): i for i in range(16)}]
    return [{"value": repr(v), "packed": packb(v).hex()} for v in values]


def message_vectors() -> dict[str, Any]:
    rejected = [
        ({"t": "reboot", "id": 8}, "unknown_type", 8),
        ({"t": "remove", "id": 8}, "malformed", 8),
        ({"t": "ping", "id": -3}, "malformed", 0),
        ({"t": "ping", "id": True}, "malformed", 0),
        ([1, 2], "malformed", 0),
    ]
    out = [{"body": packb(v).hex(), "code": code, "id": rid} for v, code, rid in rejected]
    out.append({"body": "c1", "code": "malformed", "id": 0})
    out.append({"body": "81a174", "code": "malformed", "id": 0})
    return {"good": [packb(HELLO).hex(), packb(READY).hex()], "rejected": out}


def main() -> None:
    vectors = {
        "board_id": BOARD_ID.decode(), "key": KEY.hex(), "max_frame": MAX_FRAME,
        "board_nonces": [n.hex() for n in nonces("board")],
        "gateway_nonces": [n.hex() for n in nonces("gateway")],
        "frames": frame_vectors(), "mpack": mpack_vectors(), "messages": message_vectors(),
        "sessions": session_scenarios(),
    }
    OUT.write_text(json.dumps(vectors, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
