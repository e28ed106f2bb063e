"""A Host as the target of a manifest: each entry through the Host's own operations."""

from __future__ import annotations

from pathlib import Path
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
        ref = provider_reference(capability.image_ref)
        for running in await self.host.providers():
            if running["image_ref"] == ref and running["link_name"] == capability.link_name:
                return ALREADY, running["id"]
        try:
            key = await self.host.start_provider(ref, capability.link_name)
        except HostError as exc:
            raise EntryFailed(str(exc)) from None
        return APPLIED, key

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


def provider_reference(source: str | Path) -> str:
    """An OCI reference as given; a path (or file:// URL) as the file:// URL of its absolute
    path, so one archive has one reference however it was named."""
    ref = str(source)
    path = Path(ref[len("file://"):]) if ref.startswith("file://") else Path(ref)
    if isinstance(source, Path) or ref.startswith("file://") or path.is_file():
        return path.resolve().as_uri()
    return ref
