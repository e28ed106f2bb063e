"""Invoking an actor through the lattice as a caller: its key from a call alias, the signed
call and its answer."""

from __future__ import annotations

import os

import nats

from edgecli.natsurl import NatsUrlError, check_nats_url
from edgecli.output import did_you_mean
from edgegate.config import CLUSTER_SEED_FILE, LatticeConfig, keys_dir
from edgegate.gateway import connect_nats
from edgegate.jetstream.chunks import PayloadStore
from edgegate.jetstream.metadata import LatticeMetadata
from edgegate.rpc.router import is_actor_key
from edgegate.rpc.sending import NoAnswer, NoResponder, Refused, SendError, call_actor
from edgegate.wascap import InvalidKeyError, KeyPair


class CallError(Exception):
    """The call could not be made or was refused; one line for the user."""


async def resolve(nc: nats.NATS, lattice: str, js_domain: str | None, actor: str) -> str:
    """An actor's public key from its key or its call alias in the lattice's claims."""
    if is_actor_key(actor):
        return actor
    metadata = LatticeMetadata(nc, lattice, js_domain)
    try:
        await metadata.start()
    except Exception as exc:
        raise CallError(f"cannot read the lattice's claims to find {actor!r}: {exc}") from None
    try:
        key = metadata.actor_for_alias(actor)
        aliases = [str(record.get("call_alias")) for record in metadata.claims.values()
                   if record.get("call_alias")]
    finally:
        await metadata.stop()
    if key is None:
        raise CallError(f"no actor with call alias {actor!r} on lattice {lattice!r} "
                        f"(give its public key, M…, or a call alias){did_you_mean(actor, aliases)}")
    return key


def calling_key(env: dict[str, str] | None = None) -> KeyPair:
    """The seed a caller signs with: the lattice's (WASMCLOUD_CLUSTER_SEED, else the one kept
    in the keys folder); CallError when there is none, since a lattice trusts no other."""
    env = os.environ if env is None else env
    seed = env.get("WASMCLOUD_CLUSTER_SEED")
    path = keys_dir() / CLUSTER_SEED_FILE
    if not seed and path.exists():
        seed = path.read_text().strip()
    if not seed:
        raise CallError(f"no cluster seed: set WASMCLOUD_CLUSTER_SEED to the seed the lattice's "
                        f"hosts trust (or keep it in {path})")
    try:
        key = KeyPair.from_seed(seed)
    except InvalidKeyError as exc:
        raise CallError(f"WASMCLOUD_CLUSTER_SEED: {exc}") from None
    if key.kind != "cluster":
        raise CallError(f"WASMCLOUD_CLUSTER_SEED: this is a seed of kind {key.kind}, not a "
                        f"cluster seed (SC…)")
    return key


async def invoke_actor(nc: nats.NATS, lattice: str, js_domain: str | None, cluster: KeyPair,
                       actor: str, operation: str, payload: bytes, timeout: float) -> bytes:
    """Invoke `actor` (its key or call alias) as a caller of the lattice; its answer."""
    key = await resolve(nc, lattice, js_domain, actor)
    try:
        return await call_actor(nc, PayloadStore(nc, lattice, js_domain), lattice, cluster, key,
                                operation, payload, timeout)
    except NoResponder:
        raise CallError(f"no host runs actor {key} on lattice {lattice!r}") from None
    except NoAnswer:
        raise CallError(f"actor {key} did not answer {operation} within {timeout:g} s") \
            from None
    except Refused as exc:
        raise CallError(f"{actor} {operation}: {exc.error}") from None
    except SendError as exc:
        raise CallError(f"{actor} {operation}: {exc}") from None


async def invoke(config: LatticeConfig, cluster: KeyPair, actor: str, operation: str,
                 payload: bytes, timeout: float) -> bytes:
    try:
        await check_nats_url(config.rpc_url, timeout)
    except NatsUrlError as exc:
        raise CallError(str(exc)) from None
    nc = await connect_nats(config.rpc_url, config, "edgehost call", closing=lambda: True)
    try:
        return await invoke_actor(nc, config.lattice, config.js_domain, cluster, actor,
                                  operation, payload, timeout)
    finally:
        await nc.close()
