"""The gateway (CPython only): makes a board a host on a NATS lattice speaking wasmbus.

`edgegate.Host` drives one board host from a Python program (see `edgegate.hostapi`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Host", "HostError"]


def __getattr__(name: str) -> Any:
    # imported on first use: the command line and the gateway need none of the host API
    if name in ("Host", "HostError"):
        from edgegate import hostapi
        return getattr(hostapi, name)
    raise AttributeError(f"module 'edgegate' has no attribute {name!r}")
