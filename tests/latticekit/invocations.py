"""The wasmbus invocation envelope, its URLs, hash and signed claims (spec §2, §3), written
from the spec alone so that tests never check the gateway with the gateway's own code."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid

import msgpack

from latticekit.nkeypairs import NKey

JWT_HEADER = {"typ": "jwt", "alg": "Ed25519"}
_JTI_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def actor_entity(public_key: str) -> dict:
    return {"public_key": public_key, "link_name": "", "contract_id": ""}


def provider_entity(public_key: str, contract_id: str, link_name: str) -> dict:
    return {"public_key": public_key, "link_name": link_name, "contract_id": contract_id}


def entity_url(entity: dict) -> str:
    """`wasmbus://M…` for an actor (chosen by the `M` prefix, as the OTP host does), else
    `wasmbus://{contract}/{link}/{key}` with the contract's `:` as `/`, spaces as `_`."""
    key = entity["public_key"]
    if not all(isinstance(entity.get(k), str) for k in ("public_key", "contract_id",
                                                         "link_name")):
        raise TypeError(f"entity {entity!r} lacks a string public_key/contract_id/link_name")
    if key.upper().startswith("M"):
        return f"wasmbus://{key}"
    contract = entity["contract_id"].replace(":", "/").replace(" ", "_").lower()
    link = entity["link_name"].replace(" ", "_").lower()
    return f"wasmbus://{contract}/{link}/{key}"


def target_url(entity: dict, operation: str) -> str:
    return f"{entity_url(entity)}/{operation}"


def invocation_hash(origin_url: str, target_url: str, operation: str, msg: bytes) -> str:
    """Upper-hex SHA-256 of origin_url ‖ target_url ‖ operation ‖ msg (operation twice)."""
    digest = hashlib.sha256()
    for part in (origin_url.encode(), target_url.encode(), operation.encode(), bytes(msg)):
        digest.update(part)
    return digest.hexdigest().upper()


def link_id(actor_id: str, contract_id: str, link_name: str) -> str:
    """The LinkDefinition id of spec §5: upper-hex SHA-256 of the three, no separators."""
    return hashlib.sha256(f"{actor_id}{contract_id}{link_name}".encode()).hexdigest().upper()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    """Decode base64url with or without padding; ValueError on anything else."""
    if not isinstance(text, str):
        raise ValueError("segment is not a string")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_jti() -> str:
    """A 22-character unique token id (the length wascap's nuid ids have)."""
    number = int.from_bytes(os.urandom(17), "big")
    chars = []
    for _ in range(22):
        number, digit = divmod(number, len(_JTI_ALPHABET))
        chars.append(_JTI_ALPHABET[digit])
    return "".join(chars)


def encode_jwt(claims: dict, signer: NKey, header: dict | None = None) -> str:
    head = b64url(json.dumps(header or JWT_HEADER, separators=(",", ":")).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = signer.sign(f"{head}.{body}".encode())
    return f"{head}.{body}.{b64url(signature)}"


def invocation_claims(issuer: str, invocation_id: str, target: str, origin: str, hash_: str,
                      *, now: int | None = None) -> dict:
    """The claims wascap writes for an invocation: jti, iat, iss, sub, wascap{…}, revision."""
    return {
        "jti": new_jti(), "iat": int(time.time()) if now is None else now,
        "iss": issuer, "sub": invocation_id,
        "wascap": {"target_url": target, "origin_url": origin, "hash": hash_},
        "wascap_revision": 3,
    }


def build_invocation(signer: NKey, origin: dict, target: dict, operation: str, msg: bytes,
                     host_id: str, *, claims_changes: dict | None = None,
                     signer_for_claims: NKey | None = None) -> dict:
    """A signed Invocation map. `claims_changes` edits the claims before signing (a key set
    to None is removed) — the forgeries use it; `signer_for_claims` signs with another key
    while `iss` still names `signer`."""
    inv_id = str(uuid.uuid4())
    origin_u, target_u = entity_url(origin), target_url(target, operation)
    claims = invocation_claims(signer.public_key, inv_id, target_u, origin_u,
                               invocation_hash(origin_u, target_u, operation, msg))
    for key, value in (claims_changes or {}).items():
        if value is None:
            claims.pop(key, None)
        else:
            claims[key] = value
    return {
        "origin": origin, "target": target, "operation": operation, "msg": bytes(msg),
        "id": inv_id, "encoded_claims": encode_jwt(claims, signer_for_claims or signer),
        "host_id": host_id, "content_length": len(msg),
    }


def pack(message: dict) -> bytes:
    """An Invocation (or a provider's answer) with `msg` as bin, as wasmbus-rpc sends them."""
    return msgpack.packb(message, use_bin_type=True)


def pack_response(message: dict) -> bytes:
    """An InvocationResponse as the OTP host sends it: `msg` a str holding the raw bytes."""
    as_text = bytes(message.get("msg", b"")).decode("utf-8", "surrogateescape")
    return msgpack.packb({**message, "msg": as_text}, use_bin_type=True,
                         unicode_errors="surrogateescape")


def _as_bytes(value: object) -> bytes:
    """msg as it may arrive: bin, str (an OTP binary, maybe not UTF-8), or an empty array."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if value in (None, [], ()):
        return b""
    raise ValueError(f"msg is a {type(value).__name__}, not bytes")


def _unpack_map(data: bytes) -> dict:
    """A msgpack map with str left as str (not-UTF-8 bytes surrogate-escaped) and bin as
    bytes, so that a caller can tell the two apart."""
    try:
        message = msgpack.unpackb(data, raw=False, unicode_errors="surrogateescape",
                                  strict_map_key=False)
    except Exception as exc:  # msgpack raises several unrelated types on garbage
        raise ValueError(f"not msgpack: {exc}")
    if not isinstance(message, dict):
        raise ValueError(f"not a msgpack map but a {type(message).__name__}")
    return message


def unpack(data: bytes) -> dict:
    """Decode an Invocation or InvocationResponse liberally; `msg` always comes back as bytes.

    Raises ValueError naming the problem when `data` is not a msgpack map.
    """
    message = _unpack_map(data)
    if "msg" in message:
        message["msg"] = _as_bytes(message["msg"])
    return message


def unpack_response(data: bytes) -> dict:
    """Decode an InvocationResponse as strictly as wasmCloud's Go provider SDK reads one: its
    `msg` must be a msgpack str (holding any bytes, as the OTP host sends it); bin, an array
    or no `msg` at all is a ValueError. `msg` comes back as the bytes the str held."""
    message = _unpack_map(data)
    msg = message.get("msg")
    if not isinstance(msg, str):
        kind = "missing" if "msg" not in message else f"a msgpack {_wire_kind(msg)}"
        raise ValueError(f"response msg is {kind}, not a msgpack str (the Go provider SDK "
                         f"fails on it with 'bad prefix for string length')")
    message["msg"] = msg.encode("utf-8", "surrogateescape")
    return message


def _wire_kind(value: object) -> str:
    return {bytes: "bin", list: "array", dict: "map", type(None): "nil", bool: "bool",
            int: "int", float: "float"}.get(type(value), type(value).__name__)
