"""`edgehost ctl apply`: a host manifest applied to one lattice host over its control interface.

Each entry is one control request, as `edgehost ctl` would send it: actors with `la` (a file
as a file:// reference, which the host reads itself), capabilities with `lp`, links with
`linkdefs.put`. Labels cannot be changed on a running host through the control interface, so
they are reported as already there or as failed.
"""

from __future__ import annotations

import json
from typing import Any

from edgecli.ctlclient import CtlClient, CtlError, matching_host, start_outcome
from edgegate.manifests import (
    ALREADY,
    APPLIED,
    FAILED,
    ActorEntry,
    CapabilityEntry,
    EntryFailed,
    HostManifest,
    LinkEntry,
    Outcome,
    apply,
)


async def choose_host(ctl: CtlClient, host_id: str | None) -> dict[str, Any]:
    """The ping answer of `host_id`, or of the lattice's only host when none is given."""
    hosts = await ctl.gather("ping.hosts")
    if host_id is not None:
        return matching_host(hosts, host_id, ctl)
    if not hosts:
        raise CtlError(f"no hosts answered on lattice {ctl.lattice!r} within {ctl.timeout:g} s")
    if len(hosts) > 1:
        ids = ", ".join(sorted(str(h.get("id")) for h in hosts))
        raise CtlError(f"{len(hosts)} hosts answer on lattice {ctl.lattice!r}: give --host-id "
                       f"(one of {ids})")
    return hosts[0]


class CtlTarget:
    """One host of the lattice, reached through its control interface."""

    def __init__(self, ctl: CtlClient, host: dict[str, Any]):
        self.ctl = ctl
        self.host = host
        self.host_id = str(host.get("id"))

    async def apply_labels(self, labels: dict[str, str]) -> tuple[str, str]:
        have = self.host.get("labels") or {}
        differ = sorted(k for k, v in labels.items() if have.get(k) != v)
        if not differ:
            return ALREADY, ""
        raise EntryFailed(f"host {self.host_id} has other values for {', '.join(differ)}; the "
                          f"control interface cannot change a running host's labels (start it "
                          f"with them: HOST_* variables, the board registry's labels, or "
                          f"`edgehost up --manifest`)")

    async def apply_actor(self, actor: ActorEntry) -> tuple[str, str]:
        return await self._start("actors", "la", {"actor_ref": actor.ref, "count": 1},
                                 actor.ref, {})

    async def apply_capability(self, capability: CapabilityEntry) -> tuple[str, str]:
        link = {"link_name": capability.link_name}
        return await self._start("providers", "lp", {"provider_ref": capability.image_ref,
                                                     **link}, capability.image_ref, link)

    async def _start(self, kind: str, verb: str, body: dict[str, Any], ref: str,
                     same: dict[str, str]) -> tuple[str, str]:
        """Already there when the inventory lists `ref` (with the fields of `same`), else
        `verb` and wait for the started or start-failed event."""
        events_of = (("actors_started", "actor_start_failed", "actor_ref") if kind == "actors"
                     else ("provider_started", "provider_start_failed", "provider_ref"))
        try:
            inventory = await self.ctl.request("get", self.host_id, "inv")
            for running in inventory.get(kind) or []:
                if running.get("image_ref") == ref and all(
                        running.get(name) == value for name, value in same.items()):
                    return ALREADY, str(running.get("id"))
            events = await self.ctl.events()
            await self.ctl.command("cmd", self.host_id, verb,
                                   body={**body, "host_id": self.host_id})
            outcome = await start_outcome(events, self.host_id, ref, self.ctl.timeout,
                                          *events_of)
        except CtlError as exc:
            raise EntryFailed(str(exc)) from None
        data = outcome.get("data") or {}
        if str(outcome.get("type")).endswith(events_of[1]):
            raise EntryFailed(str(data.get("error")))
        return APPLIED, str(data.get("public_key"))

    async def apply_link(self, link: LinkEntry) -> tuple[str, str]:
        wanted = {"actor_id": link.actor, "provider_id": link.provider_id,
                  "contract_id": link.contract_id, "link_name": link.link_name,
                  "values": link.values}
        try:
            for known in (await self.ctl.request("get", "links")).get("links") or []:
                if all(known.get(name) == value for name, value in wanted.items()):
                    return ALREADY, ""
            await self.ctl.command("linkdefs", "put", body=wanted)
        except CtlError as exc:
            raise EntryFailed(str(exc)) from None
        return APPLIED, ""


async def apply_to_host(ctl: CtlClient, manifest: HostManifest,
                        host_id: str | None) -> tuple[str, list[Outcome]]:
    """The host chosen and the outcome of each entry."""
    target = CtlTarget(ctl, await choose_host(ctl, host_id))
    return target.host_id, await apply(manifest, target)


def show_outcomes(outcomes: list[Outcome], host_id: str, as_json: bool) -> int:
    """Print each entry's outcome (or one JSON object); exit status 1 when any failed."""
    failed = [o for o in outcomes if o.status == FAILED]
    if as_json:
        print(json.dumps({"host_id": host_id, "outcomes": [o.to_dict() for o in outcomes]}))
    else:
        for outcome in outcomes:
            print(outcome.line())
        print(f"host {host_id}: {len(outcomes) - len(failed)} of {len(outcomes)} entries in "
              f"place" + (f", {len(failed)} failed" if failed else ""))
    return 1 if failed else 0
