"""nkeys for every wascap role: round trips, agreement with the nkeys package, bad keys."""

from __future__ import annotations

import base64
import os

import nkeys
import pytest

from edgegate.wascap import KINDS, InvalidKeyError, KeyPair
from edgegate.wascap.keys import public_key_kind, verify

# The prefix letters of the spec's key table.
LETTERS = {"account": "A", "cluster": "C", "module": "M", "server": "N", "operator": "O",
           "user": "U", "provider": "V"}
NATS_ROLES = {"account": nkeys.PREFIX_BYTE_ACCOUNT, "cluster": nkeys.PREFIX_BYTE_CLUSTER,
              "server": nkeys.PREFIX_BYTE_SERVER, "operator": nkeys.PREFIX_BYTE_OPERATOR,
              "user": nkeys.PREFIX_BYTE_USER}


def unbase32(text: str) -> bytes:
    return base64.b32decode(text + "=" * (-len(text) % 8))


@pytest.mark.parametrize("kind", sorted(LETTERS))
def test_every_key_kind_round_trips_through_its_seed(kind):
    key = KeyPair.generate(kind)
    again = KeyPair.from_seed(key.seed)
    assert (again.kind, again.public_key, again.seed) == (kind, key.public_key, key.seed)
    assert key.public_key[0] == LETTERS[kind] and len(key.public_key) == 56
    assert key.seed[:2] == "S" + LETTERS[kind] and len(key.seed) == 58
    assert public_key_kind(key.public_key) == kind

    # The seed's first two bytes as the spec defines them, from the type's prefix byte.
    prefix = unbase32(key.public_key)[0]
    raw_seed = unbase32(key.seed)
    assert raw_seed[0] == 18 << 3 | prefix >> 5
    assert raw_seed[1] == (prefix & 31) << 3
    assert nkeys.crc16_checksum(raw_seed[:-2]) == raw_seed[-2:]

    signature = key.sign(b"payload")
    assert verify(key.public_key, b"payload", signature)
    assert not verify(key.public_key, b"payloaD", signature)
    assert not verify(KeyPair.generate(kind).public_key, b"payload", signature)


@pytest.mark.parametrize("kind", sorted(NATS_ROLES))
def test_seeds_and_public_keys_agree_with_the_nkeys_package(kind):
    raw = os.urandom(32)
    ours = KeyPair(kind, raw)
    assert ours.seed == nkeys.encode_seed(raw, NATS_ROLES[kind]).decode()
    theirs = nkeys.from_seed(ours.seed.encode())
    assert ours.public_key == theirs.public_key.decode()
    assert theirs.verify(b"data", ours.sign(b"data"))


def _with_prefix(prefix: int) -> str:
    raw = bytes([prefix]) + os.urandom(32)
    return base64.b32encode(raw + nkeys.crc16_checksum(raw)).decode().rstrip("=")


def _flip(text: str, at: int) -> str:
    return text[:at] + ("B" if text[at] != "B" else "C") + text[at + 1 :]


GOOD = KeyPair.generate("account")


@pytest.mark.parametrize(
    "text, message",
    [
        (GOOD.public_key[:-1], "has 55 characters, not 56"),
        (_flip(GOOD.public_key, 20), "fails its CRC16 checksum"),
        ("0" * 56, "is not base32 text"),
        (_with_prefix(1 << 3), "unknown prefix"),
    ],
    ids=["short", "checksum", "not-base32", "unknown-prefix"],
)
def test_bad_public_keys_are_refused_with_the_rule_they_break(text, message):
    with pytest.raises(InvalidKeyError, match=message):
        public_key_kind(text)
    with pytest.raises(InvalidKeyError, match=message):
        verify(text, b"data", b"\0" * 64)


@pytest.mark.parametrize(
    "text, message",
    [
        (GOOD.public_key, "has 56 characters, not 58"),
        (_flip(GOOD.seed, 30), "fails its CRC16 checksum"),
        (_with_prefix(0) + "AB", "fails its CRC16 checksum"),
    ],
    ids=["public-key-as-seed", "checksum", "not-a-seed"],
)
def test_bad_seeds_are_refused_with_the_rule_they_break(text, message):
    with pytest.raises(InvalidKeyError, match=message):
        KeyPair.from_seed(text)


def test_a_seed_without_the_seed_prefix_is_refused():
    raw = bytes([nkeys.PREFIX_BYTE_ACCOUNT, 0]) + os.urandom(32)
    text = base64.b32encode(raw + nkeys.crc16_checksum(raw)).decode().rstrip("=")
    with pytest.raises(InvalidKeyError, match="does not start with S"):
        KeyPair.from_seed(text)


def test_an_unknown_key_kind_is_refused():
    with pytest.raises(InvalidKeyError, match="unknown key kind 'actor'"):
        KeyPair.generate("actor")
    assert set(KINDS) == set(LETTERS)
