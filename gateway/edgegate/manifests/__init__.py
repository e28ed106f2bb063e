"""Host manifests: a host's labels, actors, capabilities and links declared in a file."""

from edgegate.manifests.apply import (
    ALREADY,
    APPLIED,
    FAILED,
    EntryFailed,
    ManifestTarget,
    Outcome,
    apply,
)
from edgegate.manifests.model import (
    ActorEntry,
    CapabilityEntry,
    HostManifest,
    LinkEntry,
    ManifestError,
    load_manifest,
    parse_manifest,
)

__all__ = ["ALREADY", "APPLIED", "FAILED", "ActorEntry", "CapabilityEntry", "EntryFailed",
           "HostManifest", "LinkEntry", "ManifestError", "ManifestTarget", "Outcome", "apply",
           "load_manifest", "parse_manifest"]
