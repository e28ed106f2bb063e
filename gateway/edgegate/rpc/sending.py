"""Sending one invocation on the lattice and reading its answer, as any wasmbus caller does."""

from __future__ import annotations

from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from edgegate.jetstream.chunks import INVOCATION_CHUNK_THRESHOLD, PayloadStore
from edgegate.rpc import antiforgery
from edgegate.rpc.invocation import Entity, EnvelopeError, Invocation, InvocationResponse
from edgegate.wascap import KeyPair


class SendError(Exception):
    """The invocation got no usable answer; subclasses say why, str() is one line."""


class NoResponder(SendError):
    """Nobody subscribes the subject."""


class NoAnswer(SendError):
    """The target did not answer in time."""


class Refused(SendError):
    """The target answered with an error (`error` is its text)."""

    def __init__(self, error: str):
        super().__init__(error)
        self.error = error


def subject_of(lattice: str, inv: Invocation) -> str:
    """wasmbus.rpc.{L}.{actor}, or .{provider}.{link name} for a provider."""
    target = inv.target
    if target.is_actor:
        return f"wasmbus.rpc.{lattice}.{target.public_key}"
    return f"wasmbus.rpc.{lattice}.{target.public_key}.{target.link_name}"


async def send_invocation(nc: Client, payloads: PayloadStore, lattice: str, inv: Invocation,
                          cluster: KeyPair, timeout: float) -> bytes:
    """Sign `inv`, send it (its msg through the object store when it is over 700 KiB, as the
    OTP host does), and return the answer's bytes (read from the store when chunked)."""
    antiforgery.sign(inv, cluster)
    if len(inv.msg) > INVOCATION_CHUNK_THRESHOLD:
        await payloads.put(inv.id, inv.msg)
        inv.content_length, inv.msg = len(inv.msg), b""
    headers = {"traceparent": inv.trace_context["traceparent"]} \
        if "traceparent" in inv.trace_context else None
    try:
        reply = await nc.request(subject_of(lattice, inv), inv.pack(), timeout=timeout,
                                 headers=headers)
    except NoRespondersError:
        raise NoResponder("no responders") from None
    except NatsTimeout:
        raise NoAnswer("no answer") from None
    except Exception as exc:  # the connection is down or closing
        raise SendError(f"the lattice is not reachable ({exc})") from None
    try:
        response = InvocationResponse.unpack(reply.data)
    except EnvelopeError as exc:
        raise SendError(f"unreadable answer: {exc}") from None
    if response.error is not None:
        raise Refused(response.error)
    if not response.msg and response.size:
        try:
            return await payloads.take(f"{inv.id}-r")
        except Exception as exc:
            raise SendError(f"its chunked answer cannot be read: {exc}") from None
    return response.msg


async def call_actor(nc: Client, payloads: PayloadStore, lattice: str, cluster: KeyPair,
                     actor_key: str, operation: str, payload: bytes, timeout: float) -> bytes:
    """Invoke `actor_key` as a caller from outside the lattice's hosts (`edgehost call`, the
    Python host API): the origin is an actor key made for this call, signed with `cluster`."""
    inv = Invocation(Entity.actor(KeyPair.generate("module").public_key),
                     Entity.actor(actor_key), operation, payload, host_id=cluster.public_key)
    return await send_invocation(nc, payloads, lattice, inv, cluster, timeout)
