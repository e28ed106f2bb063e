"""What a test sends on the lattice itself, as a member of the cluster would: an invocation
signed with the cluster's key, a control-interface ping, and the events seen from now on."""

from __future__ import annotations

import json

import nats

from edgegate.rpc import antiforgery
from edgegate.rpc.invocation import Entity, Invocation, InvocationResponse
from edgegate.wascap import KeyPair
from support.responses import read_response


async def lattice_events(nc, lattice: str = "default") -> list[dict]:
    """Every CloudEvent on wasmbus.evt.{L} and wasmbus.rpcevt.{L} from now on, as it comes."""
    events: list[dict] = []

    async def seen(msg) -> None:
        events.append(json.loads(msg.data))

    await nc.subscribe(f"wasmbus.evt.{lattice}", cb=seen)
    await nc.subscribe(f"wasmbus.rpcevt.{lattice}", cb=seen)
    await nc.flush()
    return events


async def ping_hosts(nc, lattice="default", wait=1.0) -> list[dict]:
    """The answers of every host on the lattice to a control-interface ping."""
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    await nc.publish(f"wasmbus.ctl.{lattice}.ping.hosts", b"", reply=inbox)
    hosts = []
    try:
        while True:
            msg = await sub.next_msg(timeout=wait)
            if msg.data:  # an empty one is the server's "no responders" status
                hosts.append(json.loads(msg.data))
    except nats.errors.TimeoutError:
        pass
    await sub.unsubscribe()
    return hosts


async def invoke(nc, cluster: KeyPair, actor: str, operation: str, msg: bytes,
                 timeout: float = 10.0) -> InvocationResponse:
    """Invoke `actor` as an actor of the cluster would, signed with its key."""
    inv = Invocation(Entity.actor("M" + "T" * 55), Entity.actor(actor), operation, msg,
                     host_id=cluster.public_key)
    antiforgery.sign(inv, cluster)
    reply = await nc.request(f"wasmbus.rpc.default.{actor}", inv.pack(), timeout=timeout)
    return read_response(reply.data)
