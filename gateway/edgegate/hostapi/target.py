"""A Host as the target of a manifest: each entry through the Host's public operations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from edgegate.hostapi.errors import HostError
from edgegate.hostapi.sources import ActorSource, provider_reference
from edgegate.manifests import ALREADY, APPLIED, EntryFailed

if TYPE_CHECKING:
    from edgegate.manifests import ActorEntry, CapabilityEntry, LinkEntry


class ManagedHost(Protocol):
    """The operations of `edgegate.Host` a manifest is applied through."""

    async def labels(self) -> dict[str, str]: ...
    async def add_labels(self, labels: Mapping[str, str]) -> None: ...
    async def actors(self) -> list[str]: ...
    async def start_actor(self, source: ActorSource) -> str: ...
    async def providers(self) -> list[dict[str, Any]]: ...
    async def start_provider(self, source: str, link_name: str) -> str: ...
    async def links(self) -> list[dict[str, Any]]: ...
    async def set_link(self, actor: str, contract_id: str, provider_id: str, link_name: str,
                       values: Mapping[str, str]) -> None: ...


class HostTarget:
    def __init__(self, host: ManagedHost):
        self.host = host

    async def apply_labels(self, labels: dict[str, str]) -> tuple[str, str]:
        have = await self.host.labels()
        if all(have.get(k) == v for k, v in labels.items()):
            return ALREADY, ""
        await self.host.add_labels(labels)
        return APPLIED, ""

    async def apply_actor(self, actor: ActorEntry) -> tuple[str, str]:
        source = actor.path if actor.path is not None else actor.text
        try:
            running = await self.host.actors()
            key = await self.host.start_actor(source)
        except HostError as exc:
            raise EntryFailed(str(exc)) from None
        # starting an actor that runs with these very bytes changes nothing
        return (ALREADY if key in running else APPLIED), key

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
