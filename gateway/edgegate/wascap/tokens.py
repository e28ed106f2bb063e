"""Compact JWTs with wascap's header {"typ":"jwt","alg":"Ed25519"}, signed with nkeys.

PyJWT knows no algorithm called "Ed25519" (it says "EdDSA") and re-serializes headers,
while wascap tokens must carry this exact header; the three segments are therefore built
and checked here, and the Ed25519 signature is made and checked with nkey key pairs.
Any claims dict and any signer work, so module claims and invocation claims share this.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from datetime import datetime, timezone
from typing import Any

from edgegate.wascap import keys
from edgemodule.claimcheck import (
    BAD_ISSUER,
    BAD_SIGNATURE,
    EXPIRED,
    MALFORMED,
    NOT_YET_VALID,
    TOKEN_HEADER_TEXT,
    ClaimsError,
    decode_token,
)

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
LAST_TIME = 253402300799  # 9999-12-31 23:59:59 UTC, the last time a date can be shown for
_JTI_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def new_jti() -> str:
    """A 22-character random id, the shape wascap's `jti` has (base 62 of 131 random bits)."""
    number = secrets.randbits(131)
    digits = []
    for _ in range(22):
        number, digit = divmod(number, 62)
        digits.append(_JTI_ALPHABET[digit])
    return "".join(digits)


def encode(claims: dict[str, Any], signer: keys.KeyPair) -> str:
    """Sign `claims` (kept in the given key order) as a compact JWT."""
    body = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
    signing_input = b64url(TOKEN_HEADER_TEXT.encode()) + "." + b64url(body)
    return signing_input + "." + b64url(signer.sign(signing_input.encode()))


def utc_text(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


class Token:
    """A parsed JWT: its claims, and what its signature covers."""

    def __init__(self, text: str):
        self.text = text
        self.header, self.claims = decode_token(text)
        signing_input, _, signature = text.rpartition(".")
        if not _B64URL.fullmatch(signature) or len(signature) % 4 == 1:
            raise ClaimsError(MALFORMED, "the signature segment is not base64url")
        self.signing_input = signing_input.encode()
        self.signature = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        for name in ("iat", "nbf", "exp"):
            value = self.claims.get(name)
            if value is not None and (type(value) is not int or not 0 <= value <= LAST_TIME):
                raise ClaimsError(MALFORMED, f"claim {name!r} is {value!r}, not a unix time")

    @property
    def issuer(self) -> str:
        return self.claims.get("iss") or ""

    @property
    def subject(self) -> str:
        return self.claims.get("sub") or ""

    def verify(self, now: float | None = None) -> dict[str, Any]:
        """Check issuer, signature and validity times; return the claims or raise ClaimsError."""
        if not isinstance(self.claims.get("iss"), str) or not self.issuer:
            raise ClaimsError(BAD_ISSUER, "the token names no issuer (iss)")
        try:
            keys.public_key_kind(self.issuer)
        except keys.InvalidKeyError as exc:
            raise ClaimsError(BAD_ISSUER, f"issuer is not a valid nkey: {exc}")
        if not isinstance(self.claims.get("sub"), str) or not self.subject:
            raise ClaimsError(MALFORMED, "the token names no subject (sub)")
        if not keys.verify(self.issuer, self.signing_input, self.signature):
            raise ClaimsError(BAD_SIGNATURE, f"the signature does not verify against {self.issuer}")
        now = time.time() if now is None else now
        not_before = self.claims.get("nbf")
        if not_before is not None and now < not_before:
            raise ClaimsError(NOT_YET_VALID, f"valid from {utc_text(not_before)}")
        expires = self.claims.get("exp")
        if expires is not None and now >= expires:
            raise ClaimsError(EXPIRED, f"expired at {utc_text(expires)}")
        return self.claims


def verify(text: str, now: float | None = None) -> dict[str, Any]:
    """Parse and fully check a token; return its claims or raise ClaimsError."""
    return Token(text).verify(now)
