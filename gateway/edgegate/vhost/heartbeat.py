"""What the lattice hears of a board host without asking, and when it pings: heartbeats."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from edgegate.config import HEARTBEAT_SECONDS
from edgegate.lattice import Lattice


class Heartbeat:
    """A host's `host_heartbeat` event, every HEARTBEAT_SECONDS and after each ping, and the Host
    JSON a ping gets. `body()` is the heartbeat's content as the host sees itself now."""

    def __init__(self, lattice: Lattice, host_id: str, body: Callable[[], dict[str, Any]]):
        self.lattice = lattice
        self.host_id = host_id
        self.body = body
        self._task: asyncio.Task[None] | None = None

    async def answer_pings(self) -> Subscription:
        """Subscribe to the lattice's host pings; the caller unsubscribes."""
        return await self.lattice.ctl.subscribe(self.lattice.ctl_subject("ping", "hosts"),
                                                cb=self._on_ping)

    def start(self) -> None:
        """Beat from now on (once: a later start() changes nothing)."""
        if self._task is None:
            self._task = asyncio.create_task(self._beat_forever())

    def stop(self) -> None:
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()

    async def beat(self) -> None:
        await self.lattice.events.publish("host_heartbeat", self.host_id, self.body())

    def description(self) -> dict[str, Any]:
        """The Host JSON a ping gets."""
        body = self.body()
        config = self.lattice.config
        return {
            "id": self.host_id, "issuer": config.cluster.public_key, "labels": body["labels"],
            "friendly_name": body["friendly_name"], "uptime_seconds": body["uptime_seconds"],
            "uptime_human": body["uptime_human"], "version": body["version"],
            "cluster_issuers": ",".join(sorted(config.issuers)),
            "js_domain": config.js_domain, "ctl_host": config.ctl_url,
            "prov_rpc_host": config.rpc_url, "rpc_host": config.rpc_url,
            "lattice_prefix": config.lattice,
        }

    async def _beat_forever(self) -> None:
        while True:
            await self.beat()
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def _on_ping(self, msg: Msg) -> None:
        if msg.reply:
            await self.lattice.ctl.publish(msg.reply, json.dumps(self.description()).encode())
        await self.beat()
