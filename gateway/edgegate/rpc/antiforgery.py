"""Anti-forgery: the invocation JWT a host signs, and the eight checks a receiver makes."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Collection

from edgegate.rpc.invocation import Invocation
from edgegate.wascap import ClaimsError, KeyPair
from edgegate.wascap.tokens import Token, encode, new_jti

FAILED = "Anti-forgery check failed"

# the checks, in the order they are made; each refusal names one
MALFORMED = "malformed token"
WRONG_ALGORITHM = "wrong algorithm"
MISSING_ISSUER = "missing issuer or subject"
BAD_SIGNATURE = "bad signature"
EXPIRED = "expired"
NOT_YET_VALID = "not yet valid"
MISSING_CLAIMS = "missing claims"
MISSING_WASCAP = "missing wascap claims"
HASH_MISMATCH = "hash mismatch"
UNKNOWN_ISSUER = "unknown issuer"
TARGET_MISMATCH = "target URL mismatch"
ORIGIN_MISMATCH = "origin URL mismatch"
BAD_HOST_ID = "bad host id"

_CLAIMS_CHECKS = {
    "malformed token": MALFORMED, "wrong algorithm": WRONG_ALGORITHM,
    "bad issuer": MISSING_ISSUER, "bad signature": BAD_SIGNATURE,
    "expired": EXPIRED, "not yet valid": NOT_YET_VALID,
}


class ForgeryError(ValueError):
    """An invocation that failed a check; `check` names it, str() is the error to send back."""

    def __init__(self, check: str, detail: str):
        super().__init__(f"{FAILED}: {check}: {detail}")
        self.check = check


def target_url(inv: Invocation) -> str:
    return f"{inv.target.url()}/{inv.operation}"


def invocation_hash(origin_url: str, target: str, operation: str, msg: bytes) -> str:
    """Upper-case hex SHA-256 of origin URL, target URL, operation and the whole msg."""
    digest = hashlib.sha256()
    for part in (origin_url.encode(), target.encode(), operation.encode(), msg):
        digest.update(part)
    return digest.hexdigest().upper()


def sign(inv: Invocation, cluster: KeyPair, msg: bytes | None = None) -> Invocation:
    """Set `encoded_claims` of `inv`, signed with the cluster key.

    `msg` is the whole payload when `inv.msg` is empty because it travels chunked.
    """
    origin = inv.origin.url()
    target = target_url(inv)
    payload = inv.msg if msg is None else msg
    claims = {
        "jti": new_jti(), "iat": int(time.time()), "iss": cluster.public_key, "sub": inv.id,
        "wascap": {"target_url": target, "origin_url": origin,
                   "hash": invocation_hash(origin, target, inv.operation, payload)},
    }
    inv.encoded_claims = encode(claims, cluster)
    return inv


def validate(inv: Invocation, issuers: Collection[str], now: float | None = None) -> None:
    """Raise ForgeryError naming the first check the invocation fails.

    The hash is checked only when `msg` is there: the OTP host skips it for an empty
    (chunked or simply empty) msg, and so must we to accept its invocations.
    """
    if not inv.encoded_claims:
        raise ForgeryError(MISSING_CLAIMS, "the invocation carries no encoded_claims")
    try:
        token = Token(inv.encoded_claims)
        for name in ("iss", "sub"):
            if not isinstance(token.claims.get(name), str) or not token.claims[name]:
                raise ForgeryError(MISSING_ISSUER, f"the token's {name} is missing or empty")
        claims = token.verify(now)
    except ClaimsError as exc:
        check = _CLAIMS_CHECKS.get(exc.check, MALFORMED)
        raise ForgeryError(check, str(exc).split(": ", 1)[-1]) from None
    wascap = claims.get("wascap")
    if not isinstance(wascap, dict):
        raise ForgeryError(MISSING_WASCAP, "the token has no wascap claims")
    claimed = {name: wascap.get(name) for name in ("target_url", "origin_url", "hash")}
    if not all(isinstance(v, str) for v in claimed.values()):
        raise ForgeryError(MISSING_WASCAP, "wascap claims need target_url, origin_url, hash")
    origin, target = inv.origin.url(), target_url(inv)
    if inv.msg:
        actual = invocation_hash(origin, target, inv.operation, inv.msg)
        if actual != claimed["hash"]:
            raise ForgeryError(HASH_MISMATCH, f"msg hashes to {actual[:12]}…, the token says "
                                              f"{claimed['hash'][:12]}…")
    if token.issuer not in issuers:
        raise ForgeryError(UNKNOWN_ISSUER, f"{token.issuer} is not one of this lattice's "
                                           f"cluster issuers")
    if claimed["target_url"] != target:
        raise ForgeryError(TARGET_MISMATCH, f"the token says {claimed['target_url']}, the "
                                            f"invocation is for {target}")
    if claimed["origin_url"] != origin:
        raise ForgeryError(ORIGIN_MISMATCH, f"the token says {claimed['origin_url']}, the "
                                            f"invocation comes from {origin}")
    if not (inv.host_id.startswith("N") or len(inv.host_id) == 56):
        raise ForgeryError(BAD_HOST_ID, f"host_id {inv.host_id!r} is not a host or cluster key")
