"""The host data a native provider reads from its stdin: one line of base64 JSON (spec §8)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

from edgegate.config import LatticeConfig

_CREDS_BLOCK = re.compile(r"-----BEGIN [A-Z ]+-----\s*\n(.+?)\n\s*------?END", re.S)


class HostDataError(ValueError):
    """The host data cannot be built from what was given; the message names the input."""


def credentials(path: str | None) -> tuple[str, str]:
    """(user JWT, user seed) of a NATS .creds file; empty strings without one."""
    if not path:
        return "", ""
    try:
        blocks = [b.strip() for b in _CREDS_BLOCK.findall(Path(path).read_text())]
    except OSError as exc:
        raise HostDataError(f"credentials {path}: {exc.strerror}") from None
    if len(blocks) < 2:
        raise HostDataError(f"credentials {path}: no user JWT and seed blocks in it")
    return blocks[0], blocks[1]


def config_json(value: Any) -> str | None:
    """lp's `configuration`: a string passed as it is (the OTP host does), an object as JSON."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return json.dumps(value)
    raise HostDataError(f"configuration must be a string or an object, got "
                        f"{type(value).__name__}")


def host_data(config: LatticeConfig, host_id: str, provider_key: str, link_name: str,
              instance_id: str, links: list[dict[str, Any]], configuration: str | None,
              env_values: dict[str, str] | None = None) -> dict[str, Any]:
    jwt, seed = credentials(config.credentials)
    return {
        "host_id": host_id,
        "lattice_rpc_prefix": config.lattice,
        "link_name": link_name,
        "provider_key": provider_key,
        "instance_id": instance_id,
        "lattice_rpc_user_jwt": jwt,
        "lattice_rpc_user_seed": seed,
        "lattice_rpc_url": config.rpc_url,
        "lattice_rpc_tls": bool(config.tls_ca or config.tls_cert),
        "env_values": dict(env_values or {}),
        "link_definitions": links,
        "config_json": configuration,
        "default_rpc_timeout_ms": config.rpc_timeout_ms,
        "cluster_issuers": sorted(config.issuers),
        "invocation_seed": config.cluster.seed,
        "js_domain": config.js_domain,
        "structured_logging": False,
        "log_level": "info",
    }


def stdin_line(data: dict[str, Any]) -> bytes:
    """What the provider reads: base64 of the JSON, then a newline."""
    return base64.b64encode(json.dumps(data).encode()) + b"\n"
