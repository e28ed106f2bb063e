"""CloudEvents the way wasmCloud hosts publish them, and one publisher per lattice."""

from __future__ import annotations

import json
import logging
import time
from random import getrandbits
from typing import Any

from nats.aio.client import Client
from nats.errors import Error as NatsError

log = logging.getLogger(__name__)

EVENT_TYPE_PREFIX = "com.wasmcloud.lattice."
# uuid.UUID's version 4 and RFC 4122 variant bits, set on 128 random bits
_UUID4_CLEAR = ~(0xF000 << 64 | 0xC000 << 48)
_UUID4_SET = 0x4000 << 64 | 0x8000 << 48


def event_id() -> str:
    """A random (version 4) UUID as text, as str(uuid.uuid4()) but without its object."""
    digits = "%032x" % (getrandbits(128) & _UUID4_CLEAR | _UUID4_SET)
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


class _Clock:
    """UTC now in ISO 8601 with milliseconds, as datetime's isoformat writes it; the date and
    time of day are formatted once a second, not once an event."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def now(self) -> str:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return "%s.%03d+00:00" % (self._prefix, int((now - second) * 1000))


event_time = _Clock().now


def cloud_event(name: str, source: str, data: dict[str, Any]) -> bytes:
    """One CloudEvents 1.0 JSON document, `type` com.wasmcloud.lattice.{name}."""
    return json.dumps({
        "specversion": "1.0",
        "time": event_time(),
        "type": EVENT_TYPE_PREFIX + name,
        "source": source,
        "datacontenttype": "application/json",
        "id": event_id(),
        "data": data,
    }).encode()


class _InvocationEvents:
    """invocation_succeeded/failed as cloud_event writes them, from text made once: one event
    per lattice call, where json.dumps of the whole document was a twentieth of a call's cost.
    Hosts and entities repeat, so their JSON is kept (a bounded number of them)."""

    KEEP = 4096  # JSON texts of hosts and entities kept; all are let go when full

    def __init__(self) -> None:
        self._json: dict[Any, str] = {}
        self._heads = {succeeded: '{"specversion": "1.0", "time": "%%s", "type": "%s", ' % (
            EVENT_TYPE_PREFIX + ("invocation_succeeded" if succeeded else "invocation_failed"))
            for succeeded in (True, False)}

    def _text(self, key: Any, value: Any) -> str:
        text = self._json.get(key)
        if text is None:
            if len(self._json) >= self.KEEP:
                self._json.clear()
            text = self._json[key] = json.dumps(value)
        return text

    def build(self, succeeded: bool, source: str, origin: dict[str, str],
              target: dict[str, str], operation: str, size: int, error: str | None) -> bytes:
        origin_json = self._text(tuple(origin.items()), origin)
        target_json = self._text(tuple(target.items()), target)
        tail = "" if error is None else ', "error": ' + json.dumps(error)
        return ('%s"source": %s, "datacontenttype": "application/json", "id": "%s", "data": '
                '{"source": %s, "dest": %s, "operation": %s, "bytes": %d%s}}' % (
                    self._heads[succeeded] % event_time(), self._text(source, source),
                    event_id(), origin_json, target_json, self._text(operation, operation),
                    size, tail)).encode()


invocation_event = _InvocationEvents().build


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
        await self._send(self.rpc_subject, invocation_event(succeeded, source, origin, target,
                                                            operation, size, error))

    async def _send(self, subject: str, body: bytes) -> None:
        try:
            await self.nc.publish(subject, body)
        except NatsError as exc:
            log.warning("event on %s not published: %s", subject, exc)
