"""Ed25519 nkeys of every role wasmCloud uses (C, N, M, V, A…), written independently of the
gateway: python-nkeys knows only the NATS roles, not modules (M) or services (V)."""

from __future__ import annotations

import base64
import os

import nacl.exceptions
import nacl.signing
import nkeys

# Role letter -> prefix byte, as in the nkeys specification (value << 3 base32-encodes to it).
ROLES = {
    "A": 0, "C": 2 << 3, "O": 14 << 3, "N": 13 << 3, "U": 20 << 3, "M": 12 << 3, "V": 21 << 3,
}
SEED_PREFIX = 18 << 3


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw + nkeys.crc16_checksum(raw)).decode().rstrip("=")


def _unb32(text: str) -> bytes:
    """The payload of an nkey string, its CRC checked; ValueError naming the key otherwise."""
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except (ValueError, TypeError):
        raise ValueError(f"not an nkey: {text[:12]!r}… is not base32")
    body, crc = raw[:-2], raw[-2:]
    if len(body) < 33 or nkeys.crc16_checksum(body) != crc:
        raise ValueError(f"not an nkey: {text[:12]!r}… fails its checksum")
    return body


class NKey:
    """An Ed25519 key pair of one role; `public_key` like `V…`, `seed` like `SV…`."""

    def __init__(self, role: str, raw_seed: bytes):
        if role not in ROLES:
            raise ValueError(f"unknown nkey role {role!r}: expected one of {''.join(ROLES)}")
        self.role = role
        self._signer = nacl.signing.SigningKey(raw_seed)
        self._raw_seed = raw_seed

    @classmethod
    def generate(cls, role: str) -> NKey:
        return cls(role, os.urandom(32))

    @classmethod
    def from_seed(cls, seed: str) -> NKey:
        body = _unb32(seed)
        if body[0] & 0xF8 != SEED_PREFIX:
            raise ValueError(f"not a seed: {seed[:3]!r}… does not start with S")
        prefix = ((body[0] & 0x07) << 5) | ((body[1] & 0xF8) >> 3)
        role = next((r for r, b in ROLES.items() if b == prefix), None)
        if role is None or len(body) != 34:
            raise ValueError(f"not a seed of a known role: {seed[:3]!r}…")
        return cls(role, body[2:])

    @property
    def public_key(self) -> str:
        return _b32(bytes([ROLES[self.role]]) + bytes(self._signer.verify_key))

    @property
    def seed(self) -> str:
        prefix = ROLES[self.role]
        head = bytes([SEED_PREFIX | prefix >> 5, (prefix & 0x1F) << 3])
        return _b32(head + self._raw_seed)

    def sign(self, data: bytes) -> bytes:
        return self._signer.sign(data).signature


def verify(public_key: str, data: bytes, signature: bytes) -> bool:
    """True when `signature` is `public_key`'s Ed25519 signature of `data`; False otherwise,
    also for a string that is not a public nkey."""
    try:
        body = _unb32(public_key)
    except ValueError:
        return False
    if len(body) != 33:
        return False
    try:
        nacl.signing.VerifyKey(body[1:]).verify(data, signature)
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        return False
    return True
