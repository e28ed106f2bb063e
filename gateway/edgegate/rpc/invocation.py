"""The wasmbus invocation envelope (msgpack maps with field names), decoded liberally."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import msgpack


class EnvelopeError(ValueError):
    """An invocation or response that cannot be read; the message says which field and why."""


@dataclass(frozen=True)
class Entity:
    """An actor (`M…` key, other fields empty) or a provider (`V…` key, contract, link)."""

    public_key: str
    link_name: str = ""
    contract_id: str = ""

    @classmethod
    def actor(cls, public_key: str) -> Entity:
        return cls(public_key)

    @property
    def is_actor(self) -> bool:
        return self.public_key.upper().startswith("M")

    def url(self) -> str:
        """The entity's wasmbus URL, chosen by the key's `M` prefix as the OTP host does."""
        if self.is_actor:
            return f"wasmbus://{self.public_key}"
        contract = self.contract_id.replace(":", "/").replace(" ", "_").lower()
        link = self.link_name.replace(" ", "_").lower()
        return f"wasmbus://{contract}/{link}/{self.public_key}"

    def to_wire(self) -> dict[str, str]:
        return {"public_key": self.public_key, "link_name": self.link_name,
                "contract_id": self.contract_id}

    @classmethod
    def from_wire(cls, value: Any, what: str) -> Entity:
        if not isinstance(value, dict):
            raise EnvelopeError(f"invocation {what}: expected a map, got {_kind(value)}")
        fields = {}
        for name in ("public_key", "link_name", "contract_id"):
            fields[name] = _text(value.get(name), f"{what}.{name}")
        if not fields["public_key"]:
            raise EnvelopeError(f"invocation {what}.public_key: missing or empty")
        return cls(**fields)


def _kind(value: Any) -> str:
    # str fields arrive as bytes (read raw): to the sender either was a string
    return "str" if isinstance(value, (bytes, str)) else type(value).__name__


def _text(value: Any, what: str) -> str:
    """str, or the bytes an Elixir peer packs as msgpack str/bin, as text; missing is ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    raise EnvelopeError(f"invocation {what}: expected a string, got {type(value).__name__}")


def _payload(value: Any, what: str) -> bytes:
    """msg as bin, as str (the OTP host packs binaries as str) or as an empty array."""
    if value is None:
        return b""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, list) and not value:
        return b""
    if isinstance(value, list) and all(isinstance(b, int) and 0 <= b < 256 for b in value):
        return bytes(value)
    raise EnvelopeError(f"{what}: expected bytes, got {_kind(value)}")


def _unpack(data: bytes, what: str) -> dict[Any, Any]:
    try:
        # raw=True keeps str fields as bytes: an Elixir binary packed as str need not be UTF-8
        value = msgpack.unpackb(data, raw=True, strict_map_key=False)
    except Exception as exc:  # msgpack raises several unrelated types on bad input
        raise EnvelopeError(f"{what}: not msgpack ({exc.__class__.__name__})") from None
    if not isinstance(value, dict):
        raise EnvelopeError(f"{what}: expected a msgpack map, got {_kind(value)}")
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
        out[name] = _decode_nested(item, what)
    return out


MAX_NESTING = 8  # entities and trace context are maps of strings: depth 1 is all they need


def _decode_nested(value: Any, what: str, depth: int = 0) -> Any:
    """Maps inside the envelope (entities, trace context) with text keys and values."""
    if not isinstance(value, dict):
        return value
    if depth >= MAX_NESTING:
        # msgpack reads a thousand levels; recursing that deep would break the stack here
        raise EnvelopeError(f"{what}: maps nested deeper than {MAX_NESTING} levels")
    return {(k.decode("utf-8", "replace") if isinstance(k, bytes) else k):
            (v.decode("utf-8", "replace") if isinstance(v, bytes)
             else _decode_nested(v, what, depth + 1))
            for k, v in value.items()}


def _length(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise EnvelopeError(f"{what}: expected an unsigned integer, got {value!r}")


def _str_header(size: int) -> bytes:
    """The msgpack header of a str of `size` bytes (fixstr, str8, str16 or str32)."""
    if size < 0x20:
        return bytes((0xA0 | size,))
    if size < 0x100:
        return bytes((0xD9, size))
    if size < 0x10000:
        return b"\xda" + size.to_bytes(2, "big")
    return b"\xdb" + size.to_bytes(4, "big")


def new_invocation_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Invocation:
    origin: Entity
    target: Entity
    operation: str
    msg: bytes
    id: str = field(default_factory=new_invocation_id)
    encoded_claims: str = ""
    host_id: str = ""
    content_length: int | None = None
    trace_context: dict[str, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """The payload's real size: content_length when it was chunked, else len(msg)."""
        return self.content_length if self.content_length is not None else len(self.msg)

    def pack(self) -> bytes:
        out: dict[str, Any] = {
            "origin": self.origin.to_wire(), "target": self.target.to_wire(),
            "operation": self.operation, "msg": self.msg, "id": self.id,
            "encoded_claims": self.encoded_claims, "host_id": self.host_id,
            "content_length": self.size,
        }
        if self.trace_context:
            out["traceContext"] = self.trace_context
        return msgpack.packb(out, use_bin_type=True)

    @classmethod
    def unpack(cls, data: bytes) -> Invocation:
        """Decode liberally; EnvelopeError names the field that cannot be read."""
        value = _unpack(data, "invocation")
        trace = value.get("traceContext") or value.get("trace_context") or {}
        if not isinstance(trace, dict):
            trace = {}
        return cls(
            origin=Entity.from_wire(value.get("origin"), "origin"),
            target=Entity.from_wire(value.get("target"), "target"),
            operation=_text(value.get("operation"), "operation"),
            msg=_payload(value.get("msg"), "invocation msg"),
            id=_text(value.get("id"), "id"),
            encoded_claims=_text(value.get("encoded_claims"), "encoded_claims"),
            host_id=_text(value.get("host_id"), "host_id"),
            content_length=_length(value.get("content_length"), "invocation content_length"),
            trace_context={str(k): str(v) for k, v in trace.items()},
        )


@dataclass
class InvocationResponse:
    invocation_id: str
    msg: bytes = b""
    error: str | None = None
    instance_id: str = ""
    content_length: int | None = None
    trace_context: dict[str, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return self.content_length if self.content_length is not None else len(self.msg)

    def pack(self) -> bytes:
        """`msg` as a msgpack str holding the raw bytes, as the OTP host answers: wasmCloud's
        Go provider SDK reads a response's msg only as str and fails on bin."""
        out: dict[str, Any] = {"invocation_id": self.invocation_id,
                               "instance_id": self.instance_id, "content_length": self.size}
        if self.error is not None:
            out["error"] = self.error  # a success carries no error key at all
        if self.trace_context:
            out["traceContext"] = self.trace_context
        packer = msgpack.Packer(use_bin_type=True)
        # msgpack-python writes bytes only as bin, so msg gets its str header here
        return b"".join([packer.pack_map_header(len(out) + 1), packer.pack("msg"),
                         _str_header(len(self.msg)), self.msg,
                         *(packer.pack(key) + packer.pack(value) for key, value in out.items())])

    @classmethod
    def unpack(cls, data: bytes) -> InvocationResponse:
        value = _unpack(data, "invocation response")
        error = value.get("error")
        return cls(
            invocation_id=_text(value.get("invocation_id"), "invocation_id"),
            msg=_payload(value.get("msg"), "response msg"),
            error=None if error is None else _text(error, "error"),
            instance_id=_text(value.get("instance_id"), "instance_id"),
            content_length=_length(value.get("content_length"), "response content_length"),
        )
