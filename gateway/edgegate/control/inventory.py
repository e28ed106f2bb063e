"""What runs on each board host: the inventory JSON, and the image refs and annotations the
control interface started actors with (the board itself knows neither)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgegate.jetstream.metadata import LatticeMetadata
    from edgegate.vhost.host import ActorOnBoard, BoardHost


@dataclass
class Started:
    image_ref: str
    annotations: dict[str, str] = field(default_factory=dict)


class ActorRecords:
    """image_ref and annotations by (host id, actor key)."""

    def __init__(self, metadata: LatticeMetadata):
        self.metadata = metadata
        self._started: dict[tuple[str, str], Started] = {}

    def remember(self, host: BoardHost, actor: str, image_ref: str,
                 annotations: dict[str, str]) -> None:
        self._started[(host.id, actor)] = Started(image_ref, dict(annotations))

    def forget(self, host: BoardHost, actor: str) -> None:
        self._started.pop((host.id, actor), None)

    def of(self, host: BoardHost, actor: str) -> Started:
        """What the actor was started with; for one the board brought along, the reference
        the lattice's refmaps name for it, if any."""
        started = self._started.get((host.id, actor))
        if started is not None:
            return started
        refs = [url for url, key in self.metadata.refmaps.items() if key == actor]
        return Started(refs[0] if len(refs) == 1 else "")


def inventory(host: BoardHost, records: ActorRecords) -> dict[str, Any]:
    """The inventory JSON of `get.{host}.inv` (a board runs one instance of each actor)."""
    actors = []
    for key, actor in sorted(host.actors.items()):
        started = records.of(host, key)
        actors.append({
            "id": key, "image_ref": started.image_ref, "name": actor.name,
            "instances": [{"annotations": started.annotations,
                           "instance_id": actor.instance_id, "revision": actor.revision}],
        })
    return {
        "host_id": host.id, "issuer": host.lattice.config.cluster.public_key,
        "labels": host.labels, "friendly_name": host.friendly_name,
        "actors": actors,
        "providers": host.board_providers.inventory() + host.providers.inventory(),
    }


def event_claims(actor: ActorOnBoard) -> dict[str, Any]:
    """The claims part of the actors_started event."""
    wascap = actor.claims.get("wascap") or {}
    return {"call_alias": actor.alias, "caps": actor.caps, "issuer": actor.claims.get("iss", ""),
            "tags": wascap.get("tags") or [], "name": actor.name,
            "version": wascap.get("ver") or "", "revision": actor.revision,
            "not_before_human": "", "expires_human": ""}
