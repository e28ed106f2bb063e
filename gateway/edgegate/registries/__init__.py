"""Fetching actor modules: OCI registries (pull and push) and `file://` references."""

from edgegate.registries.fetch import ActorFetcher, FetchedActor, RegistrySettings
from edgegate.registries.oci import OciClient, RegistryError
from edgegate.registries.references import OciReference

__all__ = ["ActorFetcher", "FetchedActor", "OciClient", "OciReference", "RegistryError",
           "RegistrySettings"]
