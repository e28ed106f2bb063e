"""Actor and provider auctions: which of the gateway's board hosts bid, and why not."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from edgegate.control.requests import decode, strings, text
from edgegate.registries import ActorFetcher, RegistryError
from edgemodule.fit import Budget, Needs, refusal
from edgemodule.wasminspect import inspect_bytes

if TYPE_CHECKING:
    from edgegate.jetstream.metadata import LatticeMetadata
    from edgegate.vhost.host import BoardHost

log = logging.getLogger(__name__)


def labels_match(labels: dict[str, str], constraints: dict[str, str]) -> bool:
    return all(labels.get(name) == value for name, value in constraints.items())


class BoardRoom:
    """What a board can still take, from the budget its hello reports (edgemodule.fit)."""

    def __init__(self, host: BoardHost):
        report = (host.hello or {}).get("budget")
        try:
            self.budget: Budget | None = Budget.from_report(report)
        except ValueError:
            self.budget = None  # a board that could not say (its hello left it out)

    def refuses_slot(self, actor: str | None, held: dict[str, Any]) -> str:
        if actor is not None and actor in held:
            return ""  # the board holds it already: no new slot needed
        if self.budget is not None and self.budget.slots_free <= 0:
            return f"all {self.budget.slots} actor slots are taken"
        return ""

    def refuses_module(self, module: bytes, held: dict[str, Any] | None = None) -> str:
        try:
            needs = Needs(inspect_bytes(module), len(module))
        except Exception as exc:  # the inspector raises its own errors on bad modules
            return f"the module cannot be read ({exc})"
        if self.budget is None:
            return ""  # the board checks again itself, before it loads anything
        refused = refusal(needs, self.budget, new_slot=True)
        return refused[1] if refused else ""


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

    def provider_bids(self, hosts: list[BoardHost], data: bytes) -> list[dict[str, Any]]:
        """The bids of the hosts whose labels match and that do not run that provider and
        link name yet (its native providers run on the gateway's machine)."""
        what = "provider auction"
        request = decode(data, what)
        provider_ref = text(request, "provider_ref", what)
        link_name = text(request, "link_name", what, default="default")
        constraints = strings(request, "constraints", what)
        return [{"provider_ref": provider_ref, "link_name": link_name,
                 "constraints": constraints, "host_id": host.id}
                for host in hosts if not host.stopped and labels_match(host.labels, constraints)
                and not host.providers.runs_ref(provider_ref, link_name)]
