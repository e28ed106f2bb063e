"""What a host does when it sees a link definition come or go in the lattice metadata.

Every host that sees a new LINKDEF_ key emits `linkdef_set` and publishes `linkdefs.put` to the
provider (providers treat duplicates as harmless, since every host sends one); a removed key
gives `linkdef_deleted` and `linkdefs.del`. The gateway sends the provider message once for
all its boards, and each running board host emits its event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import msgpack

from edgegate.jetstream.entries import LinkDefinition
from edgegate.lattice import Lattice

if TYPE_CHECKING:
    from edgegate.vhost.host import BoardHost

log = logging.getLogger(__name__)


class LinkAnnouncer:
    def __init__(self, lattice: Lattice, hosts: Callable[[], Iterable[BoardHost]]):
        self.lattice = lattice
        self.hosts = hosts

    def watch(self) -> None:
        """From now on, announce every change the metadata watch sees."""
        self.lattice.metadata.on_link_set = self.link_set
        self.lattice.metadata.on_link_deleted = self.link_deleted

    async def link_set(self, link: LinkDefinition) -> None:
        await self._announce(link, "put", "linkdef_set")

    async def link_deleted(self, link: LinkDefinition) -> None:
        await self._announce(link, "del", "linkdef_deleted")

    async def _announce(self, link: LinkDefinition, verb: str, event: str) -> None:
        subject = self.lattice.rpc_subject(link.provider_id, link.link_name, "linkdefs", verb)
        try:
            await self.lattice.rpc.publish(subject, msgpack.packb(link.to_dict()))
        except Exception as exc:  # NATS away: the provider gets the next one
            log.warning("linkdefs.%s to %s not sent: %s", verb, link.provider_id, exc)
        for host in self.hosts():
            if not host.stopped and host.session is not None:
                await self.lattice.events.publish(event, host.id, link.to_dict())
