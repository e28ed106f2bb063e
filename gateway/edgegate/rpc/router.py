"""Where a board actor's host call goes on the lattice, and the signed invocation that takes it.

The board has already served what it can itself (its own actors, the builtins); what comes
here is routed as wasmCloud hosts route: a link definition for (actor, contract, link name)
→ that provider; a 56-character actor key → that actor; a call alias the lattice's claims
know → that actor.
"""

from __future__ import annotations

from typing import Protocol

from edgegate.lattice import Lattice
from edgegate.rpc.invocation import Entity, Invocation
from edgegate.rpc.sending import NoAnswer, NoResponder, Refused, SendError, send_invocation


class Caller(Protocol):
    """The board actor that makes a host call: its key and the capabilities its claims hold."""

    key: str
    caps: list[str]


class RouteError(Exception):
    """A host call that could not be served; the message is the host error the actor reads."""


def is_actor_key(name: str) -> bool:
    return len(name) == 56 and name.startswith("M") and name.isalnum() and name.isupper()


class Router:
    def __init__(self, lattice: Lattice):
        self.lattice = lattice

    def resolve(self, actor: Caller, binding: str, namespace: str) -> Entity:
        """The target of a host call, or RouteError saying why there is none."""
        metadata = self.lattice.metadata
        link = metadata.find_link(actor.key, namespace, binding)
        if link is not None:
            if namespace not in actor.caps:
                raise RouteError(f"actor {actor.key} is not allowed to call {namespace}: its "
                                 f"claims lack that capability")
            return Entity(link.provider_id, link.link_name, link.contract_id)
        if is_actor_key(namespace):
            return Entity.actor(namespace)
        target = metadata.actor_for_alias(namespace)
        if target is not None:
            return Entity.actor(target)
        if ":" in namespace:
            raise RouteError(f"no link definition for actor {actor.key} on contract "
                             f"{namespace} with link name {binding!r}")
        raise RouteError(f"no actor with call alias {namespace!r} on lattice "
                         f"{self.lattice.prefix}")

    async def call(self, host_id: str, actor: Caller, binding: str, namespace: str,
                   operation: str, payload: bytes, trace: dict[str, str]) -> bytes:
        """Invoke the target of a host call from host `host_id` and return its answer;
        RouteError on failure."""
        target = self.resolve(actor, binding, namespace)
        inv = Invocation(origin=Entity.actor(actor.key), target=target, operation=operation,
                         msg=payload, host_id=host_id, trace_context=dict(trace))
        lattice = self.lattice
        timeout = lattice.config.rpc_timeout_ms / 1000
        what = f"{target.public_key} {operation}"
        try:
            answer = await send_invocation(lattice.rpc, lattice.payloads, lattice.prefix, inv,
                                           lattice.config.cluster, timeout)
        except SendError as exc:
            if isinstance(exc, NoResponder):
                why = f"no host or provider serves {what} on lattice {lattice.prefix}"
            elif isinstance(exc, NoAnswer):
                why = f"{what}: no answer within {timeout * 1000:.0f} ms"
            elif isinstance(exc, Refused):
                why = f"{what} failed: {exc.error}"
            else:
                why = f"{what}: {exc}"
            await lattice.events.invocation(False, host_id, inv.origin.to_wire(),
                                            target.to_wire(), operation, len(payload), why)
            raise RouteError(why) from None
        await lattice.events.invocation(True, host_id, inv.origin.to_wire(), target.to_wire(),
                                        operation, len(payload))
        return answer
