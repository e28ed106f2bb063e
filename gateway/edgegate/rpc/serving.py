"""The one way an invocation from the lattice is served: checked, answered by the board, told.

A board host serves two kinds of target, its board's actors and its board's own contracts;
both go through `InvocationServer`: unpack, anti-forgery, the target's own checks, the payload
(fetched from the object store when it came in chunks), the board's answer, the reply (chunked
when large), then the invocation event.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar

from nats.aio.msg import Msg

from edgegate.jetstream.chunks import RESPONSE_CHUNK_THRESHOLD, ChunkError
from edgegate.lattice import Lattice
from edgegate.rpc import antiforgery
from edgegate.rpc.invocation import EnvelopeError, Invocation, InvocationResponse

log = logging.getLogger(__name__)


class NotServed(Exception):
    """An invocation that is not served; the message is the error its caller reads."""


class Target(Protocol):
    """What serves a checked invocation: an actor on the board, or one of its contracts."""

    @property
    def instance_id(self) -> str: ...

    def admit(self, inv: Invocation) -> None:
        """Raise NotServed unless the invocation's caller may make this call."""


T = TypeVar("T", bound=Target)


class InvocationServer(Generic[T]):
    """Serves a board host's invocations of one kind: to its actors, or to one of its contracts.

    `find(inv)` is the target an invocation names (NotServed when there is none here);
    `call(target, inv, payload)` has the board answer it (NotServed with the reason it did not).
    `name` says whose invocations these are in a log line; `counts`, when given, has "ok" and
    "failed" counted up.
    """

    def __init__(self, lattice: Lattice, host_id: str, name: str,
                 find: Callable[[Invocation], T],
                 call: Callable[[T, Invocation, bytes], Awaitable[bytes]],
                 counts: dict[str, int] | None = None):
        self.lattice = lattice
        self.host_id = host_id
        self.name = name
        self._find = find
        self._call = call
        self._counts = counts

    async def serve(self, msg: Msg) -> None:
        response, inv = await self.answer(msg.data, msg.headers or {})
        if msg.reply:  # the caller first, the event after
            try:
                await self.lattice.rpc.publish(msg.reply, response.pack())
            except Exception as exc:  # the caller's inbox may be gone, NATS may be away
                log.warning("%s: cannot answer an invocation: %s", self.name, exc)
        if inv is None:
            return
        failed = response.error is not None
        if self._counts is not None:
            self._counts["failed" if failed else "ok"] += 1
        await self.lattice.events.invocation(
            not failed, self.host_id, inv.origin.to_wire(), inv.target.to_wire(),
            inv.operation, inv.size, response.error)

    async def answer(self, data: bytes, headers: dict[str, str]
                     ) -> tuple[InvocationResponse, Invocation | None]:
        """Check an invocation and have the board serve it; the response to send back."""
        try:
            inv = Invocation.unpack(data)
        except EnvelopeError as exc:
            return InvocationResponse("", error=f"invalid invocation: {exc}"), None
        if "traceparent" in headers:  # W3C trace context travels as a NATS header too
            inv.trace_context.setdefault("traceparent", headers["traceparent"])
        answer = InvocationResponse(inv.id, trace_context=inv.trace_context)
        try:
            antiforgery.validate(inv, self.lattice.config.issuers)
            target = self._find(inv)
            answer.instance_id = target.instance_id
            target.admit(inv)
            payload = inv.msg
            if not payload and inv.size:
                payload = await self.lattice.payloads.take(inv.id)
            result = await self._call(target, inv, payload)
        except (antiforgery.ForgeryError, NotServed, ChunkError, OSError) as exc:
            answer.error = str(exc)
            return answer, inv
        if len(result) > RESPONSE_CHUNK_THRESHOLD:
            await self.lattice.payloads.put(f"{inv.id}-r", result)
            answer.content_length = len(result)
        else:
            answer.msg = result
        return answer, inv
