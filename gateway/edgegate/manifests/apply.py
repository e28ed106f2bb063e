"""Applying a checked manifest to a host, entry by entry, each with its outcome."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from edgegate.manifests.model import ActorEntry, CapabilityEntry, HostManifest, LinkEntry

APPLIED = "applied"
ALREADY = "already there"
FAILED = "failed"


class EntryFailed(Exception):
    """One entry could not be applied; the message is the reason, in one line."""


@dataclass
class Outcome:
    entry: str  # what the manifest asked for, e.g. "actor ./echo_s.wasm"
    status: str  # APPLIED, ALREADY or FAILED
    detail: str = ""  # the actor's key, or why it failed

    def line(self) -> str:
        return f"{self.status:<13} {self.entry}" + (f": {self.detail}" if self.detail else "")

    def to_dict(self) -> dict[str, Any]:
        return {"entry": self.entry, "status": self.status, "detail": self.detail}


class ManifestTarget(Protocol):
    """What a manifest is applied to: each method returns (APPLIED or ALREADY, detail) or
    raises EntryFailed."""

    async def apply_labels(self, labels: dict[str, str]) -> tuple[str, str]: ...

    async def apply_actor(self, actor: ActorEntry) -> tuple[str, str]: ...

    async def apply_capability(self, capability: CapabilityEntry) -> tuple[str, str]: ...

    async def apply_link(self, link: LinkEntry) -> tuple[str, str]: ...


async def apply(manifest: HostManifest, target: ManifestTarget) -> list[Outcome]:
    """Labels, then actors, capabilities and links in their order; an entry that fails does
    not stop the ones after it."""
    steps: list[tuple[str, Callable[[], Awaitable[tuple[str, str]]]]] = []
    if manifest.labels:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(manifest.labels.items()))
        steps.append((f"labels {shown}", partial(target.apply_labels, manifest.labels)))
    for actor in manifest.actors:
        steps.append((f"actor {actor.text}", partial(target.apply_actor, actor)))
    for capability in manifest.capabilities:
        steps.append((f"capability {capability.image_ref} (link {capability.link_name})",
                      partial(target.apply_capability, capability)))
    for link in manifest.links:
        steps.append((f"link {link.actor} -> {link.provider_id} ({link.contract_id}, "
                      f"{link.link_name})", partial(target.apply_link, link)))
    outcomes = []
    for entry, step in steps:  # one after the other: a link may need the actor before it
        try:
            status, detail = await step()
        except EntryFailed as exc:
            status, detail = FAILED, str(exc)
        outcomes.append(Outcome(entry, status, detail))
    return outcomes
