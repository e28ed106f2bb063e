"""What every board host of one gateway shares: NATS connections, keys, metadata, events."""

from __future__ import annotations

from dataclasses import dataclass

from nats.aio.client import Client

from edgegate.config import LatticeConfig
from edgegate.events import EventPublisher
from edgegate.jetstream.chunks import PayloadStore
from edgegate.jetstream.metadata import LatticeMetadata

VERSION = "edgehost-gateway 0.1.0"


@dataclass
class Lattice:
    config: LatticeConfig
    rpc: Client  # invocations
    ctl: Client  # control interface and events (the same client when both URLs agree)
    events: EventPublisher
    metadata: LatticeMetadata
    payloads: PayloadStore

    @property
    def prefix(self) -> str:
        return self.config.lattice

    def rpc_subject(self, *parts: str) -> str:
        return ".".join(("wasmbus.rpc", self.config.lattice, *parts))

    def ctl_subject(self, *parts: str) -> str:
        return ".".join((self.config.ctl_prefix, self.config.lattice, *parts))


async def flushed(nc: Client) -> None:
    """Return once the server has seen everything `nc` sent before (subscriptions above all).

    nats-py 2.16's flush() writes its PING ahead of commands still queued for its flusher, so
    its PONG can come back before a SUB sent just before was processed; by then the queue has
    gone out, and a second flush's PING follows it.
    """
    await nc.flush()
    await nc.flush()
