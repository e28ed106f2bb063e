"""Control-interface requests in and acks out: JSON bodies checked field by field."""

from __future__ import annotations

import json
from typing import Any


class ControlError(ValueError):
    """A request that cannot be served; the message names the request, field and rule."""


def ack() -> bytes:
    return json.dumps({"accepted": True, "error": ""}).encode()


def refused(error: str) -> bytes:
    return json.dumps({"accepted": False, "error": error}).encode()


def reply_json(value: Any) -> bytes:
    return json.dumps(value).encode()


def decode(data: bytes, what: str, empty_ok: bool = False) -> dict[str, Any]:
    """The request body as a JSON object; ControlError when it is not one."""
    if not data.strip() and empty_ok:
        return {}
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ControlError(f"{what}: the body is not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ControlError(f"{what}: the body is a JSON {type(value).__name__}, not an object")
    return value


def text(request: dict[str, Any], name: str, what: str, default: str | None = None) -> str:
    """A required (or defaulted) non-empty string field."""
    value = request.get(name, default)
    if value is None:
        raise ControlError(f"{what}: {name} is missing")
    if not isinstance(value, str) or (not value and default is None):
        raise ControlError(f"{what}: {name} must be a non-empty string, got {value!r}")
    return value


def count(request: dict[str, Any], name: str, what: str, default: int | None = None,
          least: int = 0) -> int:
    value = request.get(name, default)
    if value is None:
        raise ControlError(f"{what}: {name} is missing")
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise ControlError(f"{what}: {name} must be a whole number of at least {least}, got "
                           f"{value!r}")
    return value


def strings(request: dict[str, Any], name: str, what: str) -> dict[str, str]:
    """An optional object of strings (annotations, constraints, link values); null is {}."""
    value = request.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ControlError(f"{what}: {name} must be an object of strings")
    return dict(value)
