"""The receiver's anti-forgery checks of spec §3, each recorded by name, and forged
invocations that each break exactly one of them."""

from __future__ import annotations

import json
import time

from latticekit.invocations import (
    JWT_HEADER,
    build_invocation,
    encode_jwt,
    entity_url,
    invocation_hash,
    target_url,
    unb64url,
)
from latticekit.nkeypairs import NKey, verify

# The spec's rules, one name each, in the order they are checked. The spec's "not expired /
# not before nbf" is two checks here and "target_url and origin_url" two, so a forged
# invocation can be told apart by the name alone. host_id is the OTP host's extra rule.
CHECKS = (
    "segments",     # three base64url segments, header and claims JSON objects
    "header",       # typ "jwt", alg "Ed25519"
    "iss_sub",      # iss and sub non-empty
    "signature",    # Ed25519 over header.claims verifies against iss
    "expiry",       # exp, when present, is not past
    "not_before",   # nbf, when present, is not in the future
    "wascap",       # wascap {target_url, origin_url, hash} present
    "hash",         # hash of the envelope matches (skipped when msg is empty, as OTP does)
    "issuer",       # iss is one of the receiver's cluster issuers
    "target_url",   # claimed target_url == recomputed from the envelope's target + operation
    "origin_url",   # claimed origin_url == recomputed from the envelope's origin
    "host_id",      # OTP refuses a host_id that neither starts with N nor is 56 chars long
)

PASS, FAIL, SKIP, UNCHECKED = "pass", "fail", "skip", "unchecked"


class CheckRecord:
    """The outcome of every check for one invocation: `checks[name]` is pass / fail / skip
    (hash of an empty msg) / unchecked (an earlier failure left nothing to check);
    `details[name]` says why a check failed."""

    def __init__(self) -> None:
        self.checks: dict[str, str] = dict.fromkeys(CHECKS, UNCHECKED)
        self.details: dict[str, str] = {}

    def set(self, name: str, ok: bool, detail: str = "") -> None:
        self.checks[name] = PASS if ok else FAIL
        if not ok:
            self.details[name] = detail

    @property
    def failed(self) -> list[str]:
        return [name for name, state in self.checks.items() if state == FAIL]

    @property
    def passed(self) -> bool:
        """True when no check failed and none was left unchecked."""
        return all(state in (PASS, SKIP) for state in self.checks.values())

    @property
    def error(self) -> str | None:
        """`Anti-forgery check failed: {check}: {why}` for the first failed check, or None."""
        failed = self.failed
        if not failed:
            return None
        return f"Anti-forgery check failed: {failed[0]}: {self.details[failed[0]]}"

    def __repr__(self) -> str:
        return f"CheckRecord({self.checks})"


def _json_segment(segment: str) -> dict:
    value = json.loads(unb64url(segment))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def check_invocation(inv: dict, cluster_issuers, *, now: float | None = None) -> CheckRecord:
    """Run every check of spec §3 on a decoded Invocation map against these trusted issuers."""
    record = CheckRecord()
    now = time.time() if now is None else now
    token = inv.get("encoded_claims")
    parts = token.split(".") if isinstance(token, str) else []
    try:
        if len(parts) != 3:
            raise ValueError(f"{len(parts)} segments, not 3")
        header, claims = _json_segment(parts[0]), _json_segment(parts[1])
        signature = unb64url(parts[2])
    except ValueError as exc:
        record.set("segments", False, f"encoded_claims is not a JWT: {exc}")
        record.set("host_id", *_host_id_ok(inv.get("host_id")))
        return record
    record.set("segments", True)
    record.set("header", all(header.get(k) == v for k, v in JWT_HEADER.items()),
               f"header {header} is not typ jwt / alg Ed25519")
    iss, sub = claims.get("iss"), claims.get("sub")
    record.set("iss_sub", bool(iss) and bool(sub) and isinstance(iss, str)
               and isinstance(sub, str), f"iss {iss!r} / sub {sub!r} must be non-empty")
    record.set("signature", isinstance(iss, str)
               and verify(iss, f"{parts[0]}.{parts[1]}".encode(), signature),
               f"signature does not verify against iss {iss!r}")
    record.set("expiry", *_time_ok(claims, "exp", lambda t: now < t, "expired at"))
    record.set("not_before", *_time_ok(claims, "nbf", lambda t: t <= now, "not valid before"))
    wascap = claims.get("wascap")
    wascap_ok = isinstance(wascap, dict) and all(
        isinstance(wascap.get(k), str) for k in ("target_url", "origin_url", "hash"))
    record.set("wascap", wascap_ok, "no wascap {target_url, origin_url, hash} in the claims")
    record.set("issuer", isinstance(iss, str) and iss in set(cluster_issuers),
               f"issuer {iss!r} is not among the cluster issuers")
    record.set("host_id", *_host_id_ok(inv.get("host_id")))
    try:
        operation = inv["operation"]
        if not isinstance(operation, str):
            raise TypeError(f"operation is a {type(operation).__name__}")
        origin_u = entity_url(inv["origin"])
        target_u = target_url(inv["target"], operation)
    except (KeyError, TypeError, AttributeError) as exc:
        for name in ("hash", "target_url", "origin_url"):
            record.set(name, False, f"envelope has no usable origin/target/operation ({exc})")
        return record
    if not wascap_ok:
        return record  # hash and URLs have nothing to compare against
    msg = inv.get("msg") or b""
    if msg:
        expected = invocation_hash(origin_u, target_u, operation, msg)
        record.set("hash", wascap["hash"] == expected,
                   f"claims hash {wascap['hash'][:12]}… vs envelope {expected[:12]}…")
    else:
        record.checks["hash"] = SKIP
    record.set("target_url", wascap["target_url"] == target_u,
               f"claims target {wascap['target_url']!r} vs envelope {target_u!r}")
    record.set("origin_url", wascap["origin_url"] == origin_u,
               f"claims origin {wascap['origin_url']!r} vs envelope {origin_u!r}")
    return record


def _time_ok(claims: dict, key: str, ok, words: str) -> tuple[bool, str]:
    value = claims.get(key)
    if value is None:
        return True, ""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False, f"{key} {value!r} is not a number"
    return ok(value), f"{words} {int(value)}"


def _host_id_ok(host_id: object) -> tuple[bool, str]:
    ok = isinstance(host_id, str) and (host_id.startswith("N") or len(host_id) == 56)
    return ok, f"host_id {host_id!r} neither starts with N nor is 56 characters"


# Forgery kind -> the one check it breaks.
FORGERIES = {
    "bad_signature": "signature",
    "unknown_issuer": "issuer",
    "changed_msg": "hash",
    "changed_target_url": "target_url",
    "changed_origin_url": "origin_url",
    "expired": "expiry",
    "not_yet_valid": "not_before",
    "missing_claims": "segments",
    "missing_wascap": "wascap",
    "bad_header": "header",
    "empty_subject": "iss_sub",
}


def forge(kind: str, signer: NKey, origin: dict, target: dict, operation: str, msg: bytes,
          host_id: str) -> dict:
    """An Invocation map signed by `signer` but broken the way `kind` says (see FORGERIES).

    Everything else is right, so a receiver trusting `signer` fails exactly that one check
    (missing_claims and missing_wascap also leave the checks after them unchecked).
    """
    if kind not in FORGERIES:
        raise ValueError(f"unknown forgery {kind!r}: expected one of {', '.join(FORGERIES)}")
    now = int(time.time())
    changes: dict = {}
    other_key = None
    if kind == "expired":
        changes = {"iat": now - 7200, "exp": now - 3600}
    elif kind == "not_yet_valid":
        changes = {"nbf": now + 3600}
    elif kind == "missing_wascap":
        changes = {"wascap": None}
    elif kind == "empty_subject":
        changes = {"sub": ""}
    elif kind in ("changed_target_url", "changed_origin_url"):
        # The claims name another URL while the hash still covers the real envelope, so only
        # the URL comparison can notice.
        field = kind[len("changed_"):]
        real = {"target_url": target_url(target, operation), "origin_url": entity_url(origin)}
        claimed = dict(real, **{field: real[field].replace("wasmbus://", "wasmbus://evil/")})
        changes = {"wascap": dict(claimed, hash=invocation_hash(
            real["origin_url"], real["target_url"], operation, msg))}
    elif kind == "bad_signature":
        other_key = NKey.generate("C")
    if kind == "unknown_issuer":
        signer = NKey.generate("C")
    inv = build_invocation(signer, origin, target, operation, msg, host_id,
                           claims_changes=changes, signer_for_claims=other_key)
    if kind == "changed_msg":
        inv["msg"] = bytes(msg) + b" (altered)"
        inv["content_length"] = len(inv["msg"])
    elif kind == "missing_claims":
        inv["encoded_claims"] = ""
    elif kind == "bad_header":
        inv["encoded_claims"] = _resigned_with_header(inv["encoded_claims"], signer,
                                                      {"typ": "jwt", "alg": "HS256"})
    return inv


def _resigned_with_header(token: str, signer: NKey, header: dict) -> str:
    return encode_jwt(_json_segment(token.split(".")[1]), signer, header)
