"""`edgehost call`: invoke an actor through the lattice, as any wasmbus host would."""

from __future__ import annotations

import argparse
import asyncio
import sys

import nats
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from edgecli.boardcmds import decoded_answer, request_payload, write_raw
from edgecli.commands import fail
from edgecli.gatewaycmds import lattice_config
from edgegate.config import ConfigError, LatticeConfig
from edgegate.gateway import GatewayError, connect_nats
from edgegate.jetstream.chunks import INVOCATION_CHUNK_THRESHOLD, PayloadStore
from edgegate.jetstream.metadata import LatticeMetadata
from edgegate.rpc import antiforgery
from edgegate.rpc.invocation import Entity, EnvelopeError, Invocation, InvocationResponse
from edgegate.rpc.router import is_actor_key
from edgegate.wascap import KeyPair


class CallError(Exception):
    """The call could not be made or was refused; one line for the user."""


async def resolve(nc: nats.NATS, config: LatticeConfig, actor: str) -> str:
    """An actor's public key from its key or its call alias in the lattice's claims."""
    if is_actor_key(actor):
        return actor
    metadata = LatticeMetadata(nc, config.lattice, config.js_domain)
    try:
        await metadata.start()
    except Exception as exc:
        raise CallError(f"cannot read the lattice's claims to find {actor!r}: {exc}") from None
    try:
        key = metadata.actor_for_alias(actor)
    finally:
        await metadata.stop()
    if key is None:
        raise CallError(f"no actor with call alias {actor!r} on lattice {config.lattice!r} "
                        f"(give its public key, M…, or a call alias)")
    return key


async def invoke(config: LatticeConfig, actor: str, operation: str, payload: bytes,
                 timeout: float) -> bytes:
    nc = await connect_nats(config.rpc_url, config, "edgehost call", closing=lambda: True)
    try:
        key = await resolve(nc, config, actor)
        # the command line calls as an actor of its own, made for this call
        inv = Invocation(Entity.actor(KeyPair.generate("module").public_key), Entity.actor(key),
                         operation, payload, host_id=config.cluster.public_key)
        antiforgery.sign(inv, config.cluster)
        store = PayloadStore(nc, config.lattice, config.js_domain)
        if len(payload) > INVOCATION_CHUNK_THRESHOLD:
            await store.put(inv.id, payload)
            inv.content_length, inv.msg = len(payload), b""
        try:
            reply = await nc.request(f"wasmbus.rpc.{config.lattice}.{key}", inv.pack(),
                                     timeout=timeout)
        except NoRespondersError:
            raise CallError(f"no host runs actor {key} on lattice {config.lattice!r}") from None
        except NatsTimeout:
            raise CallError(f"actor {key} did not answer {operation} within {timeout:g} s") \
                from None
        try:
            answer = InvocationResponse.unpack(reply.data)
        except EnvelopeError as exc:
            raise CallError(f"the answer is unreadable: {exc}") from None
        if answer.error is not None:
            raise CallError(f"{actor} {operation}: {answer.error}")
        if not answer.msg and answer.size:
            return await store.take(f"{inv.id}-r")
        return answer.msg
    finally:
        await nc.close()


def call(args: argparse.Namespace) -> int:
    if not args.timeout > 0:
        return fail(f"--timeout {args.timeout:g}: must be a number of seconds above 0")
    try:
        payload = request_payload(args)
        config = lattice_config(args)
    except (ValueError, ConfigError) as exc:
        return fail(str(exc))
    if config.seed_note:
        print(f"edgehost: {config.seed_note}; a lattice that does not trust it refuses the "
              f"call", file=sys.stderr)
    try:
        answer = asyncio.run(invoke(config, args.actor, args.operation, payload, args.timeout))
    except (CallError, GatewayError) as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return 130
    if args.msgpack_json:
        try:
            print(decoded_answer(answer))
        except ValueError as exc:
            return fail(f"{args.actor} {args.operation}: {exc}")
        return 0
    write_raw(answer)
    if sys.stdout.isatty() and not answer.endswith(b"\n"):
        print()
    return 0
