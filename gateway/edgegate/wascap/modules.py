"""Module claims: read, verify, sign and embed wascap claims in WebAssembly modules."""

from __future__ import annotations

import io
import time
from typing import Any

from edgegate.wascap import keys, tokens
from edgemodule.claimcheck import (
    HASH_MISMATCH,
    NO_CLAIMS,
    ClaimsError,
    claimed_hash,
    scan,
)

# Every wascap reads a `jwt` section (newer ones also `wasmcloud_jwt`), so `jwt` is what
# hosts of any age find.
WRITTEN_SECTION = "jwt"
WASCAP_REVISION = 3  # the first revision at which wascap hashes the module as done here


def _uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def custom_section(name: str, payload: bytes) -> bytes:
    """One custom section record: id 0, size, name, payload."""
    body = _uleb(len(name.encode())) + name.encode() + payload
    return b"\x00" + _uleb(len(body)) + body


class SignedModule:
    """What a module says about itself: its computed hash and its claims token, if any."""

    def __init__(self, data: bytes):
        self.hash, text = scan(io.BytesIO(data), len(data))
        self.token = tokens.Token(text) if text is not None else None

    @property
    def claims(self) -> dict[str, Any]:
        if self.token is None:
            raise ClaimsError(NO_CLAIMS, "the module has no jwt or wasmcloud_jwt custom section")
        return self.token.claims

    @property
    def claimed_hash(self) -> str:
        return claimed_hash(self.claims)

    def verify(self, now: float | None = None) -> dict[str, Any]:
        """All checks: claims present, signature, times, and the hash whatever the revision."""
        claims = self.claims
        self.token.verify(now)
        if self.claimed_hash != self.hash:
            raise ClaimsError(HASH_MISMATCH, f"module {self.hash} vs claims {self.claimed_hash}")
        return claims


def verify_module(data: bytes, now: float | None = None) -> dict[str, Any]:
    """Check a module's claims fully (what the gateway does before starting an actor)."""
    return SignedModule(data).verify(now)


class ActorMetadata:
    """What a signer says about an actor: the `wascap` part of its claims minus the hash."""

    def __init__(
        self,
        name: str,
        caps: list[str] | None = None,
        tags: list[str] | None = None,
        rev: int | None = None,
        ver: str | None = None,
        call_alias: str | None = None,
    ):
        self.name = name
        self.caps = list(caps or [])
        self.tags = list(tags or [])
        self.rev = rev
        self.ver = ver
        self.call_alias = call_alias

    def wascap(self, module_hash: str) -> dict[str, Any]:
        # Key order and omissions follow wascap's own serialization.
        out: dict[str, Any] = {"name": self.name, "hash": module_hash,
                               "tags": self.tags, "caps": self.caps}
        if self.rev is not None:
            out["rev"] = self.rev
        if self.ver is not None:
            out["ver"] = self.ver
        if self.call_alias is not None:
            out["call_alias"] = self.call_alias
        out["prov"] = False
        return out


def strip_claims(data: bytes) -> tuple[str, bytes]:
    """(module hash, the module without any claims section), whatever those sections hold."""
    stripped = io.BytesIO()
    module_hash = scan(io.BytesIO(data), len(data), out=stripped, read_token=False)[0]
    return module_hash, stripped.getvalue()


def sign_module(
    data: bytes,
    issuer: keys.KeyPair,
    subject: keys.KeyPair,
    metadata: ActorMetadata,
    expires_in: int | None = None,
    not_before: int | None = None,
    now: int | None = None,
) -> bytes:
    """The module with its claims sections replaced by one new, signed `jwt` section.

    `expires_in` and `not_before` are seconds from now.
    """
    if issuer.kind != "account":
        raise keys.InvalidKeyError(f"the issuer must be an account key, not a {issuer.kind} key")
    if subject.kind != "module":
        raise keys.InvalidKeyError(f"the subject must be a module key, not a {subject.kind} key")
    module_hash, stripped = strip_claims(data)
    now = int(time.time()) if now is None else now
    claims: dict[str, Any] = {}
    if expires_in is not None:
        claims["exp"] = now + expires_in
    claims.update(jti=tokens.new_jti(), iat=now, iss=issuer.public_key, sub=subject.public_key)
    if not_before is not None:
        claims["nbf"] = now + not_before
    claims["wascap"] = metadata.wascap(module_hash)
    claims["wascap_revision"] = WASCAP_REVISION
    token = tokens.encode(claims, issuer)
    return stripped + custom_section(WRITTEN_SECTION, token.encode())
