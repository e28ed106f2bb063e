"""Actor and provider auctions: which of the gateway's board hosts bid, and why not."""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING, Any

from edgegate.control.requests import decode, strings, text
from edgegate.registries import ActorFetcher, RegistryError
from edgehost.config import DEFAULT_LIMITS
from edgehost.wasminspect import Inspection

if TYPE_CHECKING:
    from edgegate.jetstream.metadata import LatticeMetadata
    from edgegate.vhost.host import BoardHost

log = logging.getLogger(__name__)


def labels_match(labels: dict[str, str], constraints: dict[str, str]) -> bool:
    return all(labels.get(name) == value for name, value in constraints.items())


class BoardRoom:
    """What a board can still take, from its hello: actor slots, wasm pages, flash.

    Boards that do not say their limits in their hello run the firmware's defaults."""

    def __init__(self, host: BoardHost):
        figures = host.hello
        limits = {**DEFAULT_LIMITS, **(figures.get("limits") or {})}
        self.max_actors = int(limits["max_actors"])
        self.max_pages = int(limits["max_pages_per_actor"])
        flash = (host.health or figures).get("free_flash", -1)
        self.free_flash = flash if isinstance(flash, int) else -1
        self.actors = len(figures.get("actors") or {})

    def refuses_slot(self, actor: str | None, held: dict[str, Any]) -> str:
        if actor is not None and actor in held:
            return ""  # the board holds it already: no new slot needed
        if self.actors >= self.max_actors:
            return f"all {self.max_actors} actor slots are taken"
        return ""

    def refuses_module(self, module: bytes) -> str:
        try:
            pages = Inspection(io.BytesIO(module), len(module)).memory_pages
        except Exception as exc:  # the inspector raises its own errors on bad modules
            return f"the module cannot be read ({exc})"
        if pages > self.max_pages:
            return f"it needs {pages} wasm pages, the board gives an actor {self.max_pages}"
        if 0 <= self.free_flash < len(module):
            return f"it has {len(module)} bytes, the board's flash has {self.free_flash} free"
        return ""


class Auctions:
    def __init__(self, fetcher: ActorFetcher, metadata: LatticeMetadata):
        self.fetcher = fetcher
        self.metadata = metadata

    async def actor_bids(self, hosts: list[BoardHost], data: bytes) -> list[dict[str, Any]]:
        """The bids of the hosts whose labels match and whose board can hold the actor.

        ControlError for a malformed request."""
        what = "actor auction"
        request = decode(data, what)
        actor_ref = text(request, "actor_ref", what)
        constraints = strings(request, "constraints", what)
        candidates = [h for h in hosts if h.session is not None and not h.stopped
                      and labels_match(h.labels, constraints)]
        # slots first: the module is fetched only if some board has room for it
        candidates = [h for h in candidates if not BoardRoom(h).refuses_slot(
            self.metadata.refmaps.get(actor_ref), h.hello.get("actors") or {})]
        if not candidates:
            return []
        try:
            module = (await self.fetcher.fetch(actor_ref)).module
        except RegistryError as exc:
            log.warning("actor auction for %s: no bid, the module cannot be fetched: %s",
                        actor_ref, exc)
            return []
        bids = []
        for host in candidates:
            why = BoardRoom(host).refuses_module(module)
            if why:
                log.info("actor auction for %s: host %s does not bid: %s", actor_ref, host.id,
                         why)
                continue
            bids.append({"actor_ref": actor_ref, "constraints": constraints,
                         "host_id": host.id})
        return bids

    def provider_bids(self, data: bytes) -> list[dict[str, Any]]:
        """Board hosts run no providers, so they never bid; the request is still checked."""
        what = "provider auction"
        request = decode(data, what)
        text(request, "provider_ref", what)
        text(request, "link_name", what, default="default")
        strings(request, "constraints", what)
        return []
