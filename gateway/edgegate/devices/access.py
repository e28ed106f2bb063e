"""Reaching a board through the gateway that serves it: NATS subjects, sealed with its key.

While a gateway holds a board's link, `edgehost board --nats URL` talks to the board through
that gateway instead of opening the link itself. Requests go to
`edgehost.{L}.board.{board}` and the board's log lines and events are published on
`edgehost.{L}.board.{board}.notes`. Everything is sealed with the board's pairing key, which
both the user's key file and the gateway's registry hold, so no one without the key can drive
a board or fake its answers:

- request: msgpack [inner, mac]; inner = msgpack {action, args, ts (unix ms), nonce (16 bytes),
  body?}; mac = HMAC-SHA256(key, "edgehost board request" 0x00 board ‖ inner). The gateway
  refuses a `ts` more than 60 s away from its clock and a nonce it has seen.
- reply: msgpack [inner, mac]; inner = msgpack {ok, result | error, code}; mac over
  "edgehost board reply" 0x00 nonce ‖ inner: bound to the request it answers.
- note: msgpack [inner, mac]; inner = the board's log or event message; mac over
  "edgehost board note" 0x00 board ‖ inner.

(hmac and msgpack only: no library offers an authenticated request/reply over NATS.)
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import msgpack

from edgegate.devices.registry import subject_token

CLOCK_SKEW_MS = 60_000
UPLOAD_INLINE = 512 * 1024  # larger modules go through the lattice's object store


class AccessError(ValueError):
    """A sealed message that fails its checks; the message says which."""


def request_subject(lattice: str, board_id: str) -> str:
    return f"edgehost.{lattice}.board.{subject_token(board_id)}"


def notes_subject(lattice: str, board_id: str) -> str:
    return request_subject(lattice, board_id) + ".notes"


def _mac(key: bytes, label: str, bound: bytes, inner: bytes) -> bytes:
    return hmac.new(key, label.encode() + b"\x00" + bound + inner, hashlib.sha256).digest()


def seal(key: bytes, label: str, bound: bytes, value: dict[str, Any]) -> bytes:
    inner = msgpack.packb(value, use_bin_type=True)
    return msgpack.packb([inner, _mac(key, label, bound, inner)], use_bin_type=True)


def unseal(key: bytes, label: str, bound: bytes, data: bytes) -> dict[str, Any]:
    try:
        inner, mac = msgpack.unpackb(data, raw=False)
        if not isinstance(inner, bytes) or not isinstance(mac, bytes):
            raise ValueError
    except Exception:
        raise AccessError("not a sealed edgehost message") from None
    if not hmac.compare_digest(mac, _mac(key, label, bound, inner)):
        raise AccessError("its seal does not check with this board's pairing key")
    try:
        value = msgpack.unpackb(inner, raw=False, strict_map_key=False)
    except Exception:
        raise AccessError("its content is not msgpack") from None
    if not isinstance(value, dict):
        raise AccessError("its content is not a map")
    return value
