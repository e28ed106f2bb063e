"""nkeys for every wascap role: generate and read seeds, sign, verify against a public key."""

from __future__ import annotations

import base64
import binascii
import functools
import os

import nacl.exceptions
import nacl.signing
import nkeys

# Kind -> prefix byte. nkeys 0.2.1 knows the NATS roles only; wascap adds module (M) and
# provider (V), so the seed and public-key encodings are done here, with nkeys' own CRC16
# and constants, and the tests check them against nkeys for the roles it does know.
KINDS: dict[str, int] = {
    "account": nkeys.PREFIX_BYTE_ACCOUNT,
    "cluster": nkeys.PREFIX_BYTE_CLUSTER,
    "module": 12 << 3,
    "operator": nkeys.PREFIX_BYTE_OPERATOR,
    "provider": 21 << 3,
    "server": nkeys.PREFIX_BYTE_SERVER,
    "user": nkeys.PREFIX_BYTE_USER,
}
_KIND_OF_PREFIX = {prefix: kind for kind, prefix in KINDS.items()}
PUBLIC_KEY_LENGTH = 56
SEED_LENGTH = 58


class InvalidKeyError(ValueError):
    """Text that should be an nkey is not one; the message says which rule it broke."""


def _encode(raw: bytes) -> str:
    return base64.b32encode(raw + nkeys.crc16_checksum(raw)).decode().rstrip("=")


def _decode(text: str, length: int, what: str) -> bytes:
    if len(text) != length:
        raise InvalidKeyError(f"{what} {_short(text)} has {len(text)} characters, not {length}")
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        raise InvalidKeyError(f"{what} {_short(text)} is not base32 text")
    body, crc = raw[:-2], raw[-2:]
    if nkeys.crc16_checksum(body) != crc:
        raise InvalidKeyError(f"{what} {_short(text)} fails its CRC16 checksum")
    return body


def _short(text: str) -> str:
    return repr(text if len(text) <= 12 else text[:10] + "…")


@functools.lru_cache(maxsize=1024)
def _public_body(public_key: str) -> bytes:
    # cached: a lattice has few signers (its cluster keys), and each invocation names one
    body = _decode(public_key, PUBLIC_KEY_LENGTH, "public key")
    if body[0] not in _KIND_OF_PREFIX:
        raise InvalidKeyError(f"public key {_short(public_key)} has an unknown prefix")
    return body


def public_key_kind(public_key: str) -> str:
    """The role of a public key (`account`, `module`, …); raises InvalidKeyError."""
    return _KIND_OF_PREFIX[_public_body(public_key)[0]]


@functools.lru_cache(maxsize=1024)
def _verify_key(public_key: str) -> nacl.signing.VerifyKey:
    return nacl.signing.VerifyKey(_public_body(public_key)[1:])


def verify(public_key: str, data: bytes, signature: bytes) -> bool:
    """Whether `signature` is the Ed25519 signature of `data` by `public_key`."""
    key = _verify_key(public_key)
    try:
        key.verify(data, signature)
    except (nacl.exceptions.BadSignatureError, ValueError):
        return False
    return True


class KeyPair:
    """An Ed25519 key pair in one wascap role, read from or written as an nkeys seed."""

    def __init__(self, kind: str, raw_seed: bytes):
        if kind not in KINDS:
            raise InvalidKeyError(f"unknown key kind {kind!r} (one of {', '.join(KINDS)})")
        self.kind = kind
        self._raw_seed = raw_seed
        self._key = nacl.signing.SigningKey(raw_seed)
        self._signer = nkeys.KeyPair(keys=self._key)
        self._public_key = _encode(bytes([KINDS[kind]]) + bytes(self._key.verify_key))

    @classmethod
    def generate(cls, kind: str) -> KeyPair:
        return cls(kind, os.urandom(32))

    @classmethod
    def from_seed(cls, seed: str) -> KeyPair:
        body = _decode(seed.strip(), SEED_LENGTH, "seed")
        if body[0] & 0xF8 != nkeys.PREFIX_BYTE_SEED:
            raise InvalidKeyError(f"seed {_short(seed)} does not start with S")
        prefix = (body[0] & 0x07) << 5 | body[1] >> 3
        kind = _KIND_OF_PREFIX.get(prefix)
        if kind is None:
            raise InvalidKeyError(f"seed {_short(seed)} is for an unknown key kind")
        return cls(kind, body[2:])

    @property
    def seed(self) -> str:
        prefix = KINDS[self.kind]
        head = bytes([nkeys.PREFIX_BYTE_SEED | prefix >> 5, (prefix & 31) << 3])
        return _encode(head + self._raw_seed)

    @property
    def public_key(self) -> str:
        return self._public_key

    def sign(self, data: bytes) -> bytes:
        return self._signer.sign(data)
