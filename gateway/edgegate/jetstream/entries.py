"""The values kept in the lattice metadata bucket: link definitions, claims records, refmaps."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

CLAIMS_PREFIX = "CLAIMS_"
LINKDEF_PREFIX = "LINKDEF_"
REFMAP_PREFIX = "REFMAP_"
# The CLAIMS_ value, in the order the OTP host writes it; every value is a string.
CLAIMS_FIELDS = (
    "call_alias", "iss", "name", "caps", "rev", "tags", "version", "sub", "contract_id",
)
DEFAULT_LINK_NAME = "default"


class MetadataError(ValueError):
    """A metadata entry or a request about one broke a rule; the message names which and how."""


def link_id(actor_id: str, contract_id: str, link_name: str) -> str:
    """The OTP host's link id: upper-hex SHA-256 of actor ‖ contract ‖ link name, no separators."""
    digest = hashlib.sha256((actor_id + contract_id + link_name).encode()).hexdigest()
    return digest.upper()


def _json_object(data: bytes | str | dict[str, Any], what: str) -> dict[str, Any]:
    if isinstance(data, dict):
        return data
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise MetadataError(f"{what} is not JSON: {type(exc).__name__}: {exc}")
    if not isinstance(value, dict):
        raise MetadataError(f"{what} is a JSON {type(value).__name__}, not an object")
    return value


def _text(value: Any) -> str:
    """A JSON value as the string the bucket's string maps want (null → "")."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


@dataclass(kw_only=True)
class LinkDefinition:
    """One link between an actor and a capability provider, with its configuration values.

    `id` left empty is computed with `link_id`, as the OTP host does for clients that omit it.
    """

    id: str = ""
    actor_id: str
    provider_id: str
    link_name: str = DEFAULT_LINK_NAME
    contract_id: str
    values: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            self.id = link_id(self.actor_id, self.contract_id, self.link_name)

    def to_dict(self) -> dict[str, Any]:
        """The six fields in the spec's order, for JSON (bucket, events) and msgpack (providers)."""
        return {
            "id": self.id, "actor_id": self.actor_id, "provider_id": self.provider_id,
            "link_name": self.link_name, "contract_id": self.contract_id,
            "values": dict(self.values),
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":")).encode()

    @classmethod
    def from_dict(cls, data: dict[str, Any], what: str = "link definition") -> LinkDefinition:
        """Decode liberally: a missing id is recomputed, a missing link name is `default`,
        missing or null values are empty and non-string values become strings; actor, provider
        and contract must be non-empty strings."""
        required = {}
        for name in ("actor_id", "provider_id", "contract_id"):
            value = data.get(name)
            if not isinstance(value, str) or not value:
                raise MetadataError(f"{what}: {name} must be a non-empty string, not {value!r}")
            required[name] = value
        link_name = data.get("link_name")
        if link_name in (None, ""):
            link_name = DEFAULT_LINK_NAME
        if not isinstance(link_name, str):
            raise MetadataError(f"{what}: link_name must be a string, not {link_name!r}")
        values = data.get("values")
        if values is None:
            values = {}
        if not isinstance(values, dict):
            raise MetadataError(f"{what}: values must be an object, not {type(values).__name__}")
        ldid = data.get("id")
        if ldid is not None and not isinstance(ldid, str):
            raise MetadataError(f"{what}: id must be a string, not {ldid!r}")
        return cls(
            id=ldid or "", link_name=link_name,
            values={str(k): _text(v) for k, v in values.items()}, **required,
        )

    @classmethod
    def from_json(cls, data: bytes | str, what: str = "link definition") -> LinkDefinition:
        return cls.from_dict(_json_object(data, what), what)


def claims_record(token_claims: dict[str, Any]) -> dict[str, str]:
    """The CLAIMS_ map for decoded wascap JWT claims (an actor's, or a provider's with capid).

    caps and tags are comma-joined; a missing or non-positive `rev` becomes the token's `iat`,
    as the OTP host does; a missing version is "" (every value stays a string).
    """
    issuer, subject = token_claims.get("iss"), token_claims.get("sub")
    if not isinstance(issuer, str) or not issuer or not isinstance(subject, str) or not subject:
        raise MetadataError(
            f"claims need a non-empty iss and sub, got iss={issuer!r} sub={subject!r}"
        )
    meta = token_claims.get("wascap") or {}
    if not isinstance(meta, dict):
        raise MetadataError(f"claims of {subject}: wascap must be an object, not {meta!r}")
    rev = meta.get("rev")
    if type(rev) is not int or rev <= 0:
        rev = token_claims.get("iat") or 0
    return {
        "call_alias": _text(meta.get("call_alias")),
        "iss": issuer,
        "name": _text(meta.get("name")),
        "caps": ",".join(map(_text, meta.get("caps") or [])),
        "rev": _text(rev),
        "tags": ",".join(map(_text, meta.get("tags") or [])),
        "version": _text(meta.get("ver")),
        "sub": subject,
        "contract_id": _text(meta.get("capid")),
    }


def decode_claims(
    data: bytes | str | dict[str, Any], public_key: str, what: str = "claims"
) -> dict[str, str]:
    """A CLAIMS_ value as a map of exactly CLAIMS_FIELDS, all strings.

    Liberal: missing fields and JSON null are "", lists are comma-joined, numbers become
    decimal strings, and an empty `sub` is the key's public key.
    """
    raw = _json_object(data, what)
    record = {}
    for name in CLAIMS_FIELDS:
        value = raw.get(name)
        record[name] = ",".join(map(_text, value)) if isinstance(value, list) else _text(value)
    record["sub"] = record["sub"] or public_key
    if not record["sub"]:
        raise MetadataError(f"{what}: sub must be a non-empty string")
    return record


def refmap_key(oci_url: str) -> str:
    """REFMAP_ + the reference in base64url without padding."""
    return REFMAP_PREFIX + base64.urlsafe_b64encode(oci_url.encode()).decode().rstrip("=")


def decode_refmap(data: bytes | str, what: str = "refmap") -> tuple[str, str]:
    """(oci_url, public_key) of a REFMAP_ value; both must be non-empty strings."""
    raw = _json_object(data, what)
    oci_url, public_key = raw.get("oci_url"), raw.get("public_key")
    for name, value in (("oci_url", oci_url), ("public_key", public_key)):
        if not isinstance(value, str) or not value:
            raise MetadataError(f"{what}: {name} must be a non-empty string, not {value!r}")
    return oci_url, public_key
