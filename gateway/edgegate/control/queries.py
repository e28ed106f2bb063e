"""Lattice-wide requests: claims and links asked for, links put and deleted, registry
credentials given."""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgegate.control.requests import ControlError, ack, decode, refused, reply_json, strings, text
from edgegate.jetstream.entries import LinkDefinition, MetadataError
from edgegate.registries import ActorFetcher
from edgegate.registries.fetch import parse_credentials

if TYPE_CHECKING:
    from edgegate.lattice import Lattice


class LatticeQueries:
    def __init__(self, lattice: Lattice, fetcher: ActorFetcher):
        self.lattice = lattice
        self.fetcher = fetcher
        self.handlers = {("get", "claims"): self.get_claims, ("get", "links"): self.get_links,
                         ("linkdefs", "put"): self.put_link, ("linkdefs", "del"): self.del_link,
                         ("registries", "put"): self.put_registries}

    async def handle(self, which: tuple[str, str], data: bytes) -> bytes:
        try:
            return await self.handlers[which](data)
        except ControlError as exc:
            return refused(str(exc))
        except MetadataError as exc:
            return refused(f"{'.'.join(which)}: {exc}")

    async def get_claims(self, data: bytes) -> bytes:
        return reply_json({"claims": list(self.lattice.metadata.claims.values())})

    async def get_links(self, data: bytes) -> bytes:
        return reply_json({"links": [ld.to_dict() for ld in
                                     self.lattice.metadata.links.values()]})

    async def put_link(self, data: bytes) -> bytes:
        what = "linkdefs.put"
        request = decode(data, what)
        await self.set_link(LinkDefinition(
            actor_id=text(request, "actor_id", what),
            provider_id=text(request, "provider_id", what),
            contract_id=text(request, "contract_id", what),
            link_name=text(request, "link_name", what, default="default"),
            values=strings(request, "values", what)))
        return ack()

    async def set_link(self, ld: LinkDefinition) -> None:
        """Put a link definition into the lattice's metadata (MetadataError if it fails)."""
        await self.lattice.metadata.put_link(ld)

    async def del_link(self, data: bytes) -> bytes:
        what = "linkdefs.del"
        request = decode(data, what)
        actor = text(request, "actor_id", what)
        contract = text(request, "contract_id", what)
        link_name = text(request, "link_name", what, default="default")
        try:
            await self.remove_link(actor, contract, link_name)
        except ControlError as exc:
            return refused(f"{what}: {exc}")
        return ack()

    async def remove_link(self, actor: str, contract: str, link_name: str = "default") -> None:
        """Delete a link definition from the lattice's metadata; ControlError when there is
        no such link (MetadataError if the delete fails)."""
        ld = self.lattice.metadata.find_link(actor, contract, link_name)
        if ld is None:
            raise ControlError(f"no link of actor {actor} for {contract} named {link_name}")
        await self.lattice.metadata.delete_link(ld.id)

    async def put_registries(self, data: bytes) -> bytes:
        request = decode(data, "registries.put")
        try:
            credentials = parse_credentials(request)
        except ValueError as exc:
            return refused(str(exc))
        self.fetcher.set_credentials(credentials)
        return ack()
