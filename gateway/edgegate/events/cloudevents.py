"""CloudEvents the way wasmCloud hosts publish them, and one publisher per lattice."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timezone
from typing import Any

from nats.aio.client import Client
from nats.errors import Error as NatsError

log = logging.getLogger(__name__)

EVENT_TYPE_PREFIX = "com.wasmcloud.lattice."


def cloud_event(name: str, source: str, data: dict[str, Any]) -> bytes:
    """One CloudEvents 1.0 JSON document, `type` com.wasmcloud.lattice.{name}."""
    return json.dumps({
        "specversion": "1.0",
        "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "type": EVENT_TYPE_PREFIX + name,
        "source": source,
        "datacontenttype": "application/json",
        "id": str(uuid.uuid4()),
        "data": data,
    }).encode()


class EventPublisher:
    """Publishes a lattice's events; losing NATS for a moment loses an event, not the host."""

    def __init__(self, nc: Client, lattice: str):
        self.nc = nc
        self.subject = f"wasmbus.evt.{lattice}"
        self.rpc_subject = f"wasmbus.rpcevt.{lattice}"

    async def publish(self, name: str, source: str, data: dict[str, Any]) -> None:
        await self._send(self.subject, cloud_event(name, source, data))

    async def invocation(self, succeeded: bool, source: str, origin: dict[str, str],
                         target: dict[str, str], operation: str, size: int,
                         error: str | None = None) -> None:
        data: dict[str, Any] = {"source": origin, "dest": target, "operation": operation,
                                "bytes": size}
        if error is not None:
            data["error"] = error
        name = "invocation_succeeded" if succeeded else "invocation_failed"
        await self._send(self.rpc_subject, cloud_event(name, source, data))

    async def _send(self, subject: str, body: bytes) -> None:
        try:
            await self.nc.publish(subject, body)
        except NatsError as exc:
            log.warning("event on %s not published: %s", subject, exc)
