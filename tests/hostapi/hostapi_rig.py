"""Signed actors for the host API tests, and a plain nats-py look at the lattice."""

from __future__ import annotations

import json

from edgegate.wascap import ActorMetadata, KeyPair, sign_module

GREETER_CAPS = ["wasmcloud:builtin:numbergen", "wasmcloud:builtin:logging"]


def signed(module: bytes, name: str, subject: KeyPair | None = None, rev: int | None = None,
           call_alias: str | None = None, caps: list[str] | None = None) -> bytes:
    return sign_module(module, KeyPair.generate("account"), subject or KeyPair.generate("module"),
                       ActorMetadata(name, caps, rev=rev, call_alias=call_alias))


async def ping_hosts(nc, wait: float = 1.0) -> list[dict]:
    """Every host that answers a plain ping on the default lattice."""
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    await nc.publish("wasmbus.ctl.default.ping.hosts", b"", reply=inbox)
    hosts = []
    try:
        while True:
            msg = await sub.next_msg(timeout=wait)
            if msg.data:
                hosts.append(json.loads(msg.data))
    except Exception:  # nats-py's TimeoutError: nobody else answers
        pass
    await sub.unsubscribe()
    return hosts
