"""A --nats URL checked before a client connects: its scheme, and that NATS answers there."""

from __future__ import annotations

import asyncio
import urllib.parse

SCHEMES = ("nats", "tls", "ws", "wss")
PROBE_SECONDS = 3.0  # a NATS server greets at once; this is long for a loopback or a LAN


class NatsUrlError(Exception):
    """The URL cannot lead to a NATS server; one line for the user."""


async def check_nats_url(url: str, timeout: float) -> None:
    """NatsUrlError when `url` is not a NATS URL, or what answers there does not greet as a
    NATS server does (`INFO {…}`); a port where nothing listens is left to the connection,
    which says so in its own words."""
    for one in url.split(","):
        parts = urllib.parse.urlsplit(one.strip() if "://" in one else "nats://" + one.strip())
        if parts.scheme not in SCHEMES:
            raise NatsUrlError(f"--nats {url}: {parts.scheme}:// is not a NATS URL; give "
                               f"nats://HOST:PORT (or tls://, ws://, wss://)")
        if parts.scheme in ("nats", "tls") and parts.hostname:
            await _greets(url, parts.hostname, parts.port or 4222, min(timeout, PROBE_SECONDS))


async def _greets(url: str, host: str, port: int, wait: float) -> None:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), wait)
    except (OSError, TimeoutError):
        return
    try:
        first = await asyncio.wait_for(reader.read(64), wait)
    except (OSError, TimeoutError):
        first = None
    finally:
        writer.close()
    if first is not None and first.startswith(b"INFO "):
        return
    said = (f"it sent {first[:24].decode(errors='replace')!r}" if first else
            "it closed the connection at once" if first == b"" else
            f"it sent nothing within {wait:g} s")
    raise NatsUrlError(f"--nats {url}: what answers at {host}:{port} is not a NATS server ({said}; "
                       f"a NATS server greets with INFO); give the port of a nats-server")
