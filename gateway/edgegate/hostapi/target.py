"""A Host as the target of a manifest: each entry through the Host's own operations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgegate.hostapi.errors import HostError
from edgegate.manifests import ALREADY, APPLIED, EntryFailed

if TYPE_CHECKING:
    from edgegate.hostapi.host import Host
    from edgegate.manifests import ActorEntry, CapabilityEntry, LinkEntry


class HostTarget:
    def __init__(self, host: Host):
        self.host = host

    async def apply_labels(self, labels: dict[str, str]) -> tuple[str, str]:
        host = self.host
        have = await host.labels()
        if all(have.get(k) == v for k, v in labels.items()):
            return ALREADY, ""
        if not host.on_lattice:
            host._labels.update(labels)
            return APPLIED, ""
        board = host._board_host()
        board.entry.labels.update(labels)  # what its labels are made from
        # the lattice hears of them now, not at the next heartbeat
        await board.lattice.events.publish("host_heartbeat", board.id, board.heartbeat())
        return APPLIED, ""

    async def apply_actor(self, actor: ActorEntry) -> tuple[str, str]:
        source = actor.path if actor.path is not None else actor.text
        try:
            installed = await self.host._start_actor(source)
        except HostError as exc:
            raise EntryFailed(str(exc)) from None
        return (ALREADY if installed.what == "held" else APPLIED), installed.actor

    async def apply_capability(self, capability: CapabilityEntry) -> tuple[str, str]:
        try:
            await self.host.start_provider(capability.image_ref, capability.link_name)
        except HostError as exc:
            raise EntryFailed(str(exc)) from None
        return APPLIED, ""

    async def apply_link(self, link: LinkEntry) -> tuple[str, str]:
        host = self.host
        try:
            for known in await host.links():
                if (known["actor_id"], known["contract_id"], known["link_name"],
                        known["provider_id"], known["values"]) == (
                        link.actor, link.contract_id, link.link_name, link.provider_id,
                        link.values):
                    return ALREADY, ""
            await host.set_link(link.actor, link.contract_id, link.provider_id,
                                link.link_name, link.values)
        except HostError as exc:
            raise EntryFailed(str(exc)) from None
        return APPLIED, ""
