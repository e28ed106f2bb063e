"""The native providers of one board host: `lp` and `sp` do their work here.

`start_provider` is the whole of `lp` after its request was read (the control interface and
the Python host API both call it): fetch the archive, verify it, run this platform's binary
with its host data, and say `provider_started` or `provider_start_failed`.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from edgegate.jetstream.entries import claims_record
from edgegate.lattice import Lattice
from edgegate.providers.archive import ProviderUnusable, prepare
from edgegate.providers.native import NativeProvider, ProviderStartFailed, ProviderTimings
from edgegate.registries import ActorFetcher, RegistryError

log = logging.getLogger(__name__)


class HostProviders:
    """Native providers by (public key, link name), for the host `host_id`."""

    def __init__(self, lattice: Lattice, host_id: str, timings: ProviderTimings | None = None):
        self.lattice = lattice
        self.host_id = host_id
        self.timings = timings or ProviderTimings(health_every=lattice.config.provider_health_s)
        self.running: dict[tuple[str, str], NativeProvider] = {}
        self._folder: Path | None = None
        self._starting: set[tuple[str, str]] = set()

    def find(self, key: str, link_name: str) -> NativeProvider | None:
        return self.running.get((key, link_name))

    def runs_ref(self, image_ref: str, link_name: str) -> bool:
        return any(p.image_ref == image_ref and p.link_name == link_name
                   for p in self.running.values()) or (image_ref, link_name) in self._starting

    def folder(self) -> Path:
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="edgehost-providers-"))
        return self._folder

    async def start_provider(self, fetcher: ActorFetcher, provider_ref: str, link_name: str,
                             configuration: str | None = None,
                             annotations: dict[str, str] | None = None) -> NativeProvider:
        """Start a provider from its archive; ProviderStartFailed (after the event) if not."""
        annotations = dict(annotations or {})
        self._starting.add((provider_ref, link_name))
        try:
            provider = await self._start(fetcher, provider_ref, link_name, configuration,
                                         annotations)
        except ProviderStartFailed as exc:
            log.warning("host %s: provider %s (%s) not started: %s", self.host_id,
                        provider_ref, link_name, exc)
            await self.lattice.events.publish("provider_start_failed", self.host_id, {
                "provider_ref": provider_ref, "link_name": link_name, "error": str(exc)})
            raise
        finally:
            self._starting.discard((provider_ref, link_name))
        return provider

    async def _start(self, fetcher: ActorFetcher, provider_ref: str, link_name: str,
                     configuration: str | None, annotations: dict[str, str]) -> NativeProvider:
        try:
            archive = (await fetcher.fetch(provider_ref, "provider")).module
            ready = await asyncio.to_thread(prepare, archive, provider_ref, self.folder())
        except (RegistryError, ProviderUnusable, OSError) as exc:
            raise ProviderStartFailed(" ".join(str(exc).split())) from None
        if self.find(ready.key, link_name) is not None:
            ready.binary.unlink(missing_ok=True)
            raise ProviderStartFailed(f"provider {ready.key} with link name {link_name!r} "
                                      f"already runs on host {self.host_id}")
        provider = NativeProvider(self.lattice, self.host_id, ready, provider_ref, link_name,
                                  configuration, annotations, self.timings)
        await provider.start()
        self.running[(provider.key, link_name)] = provider
        try:
            await self.lattice.metadata.put_claims(claims_record(ready.claims))
            if not provider_ref.startswith("file://"):
                await self.lattice.metadata.put_refmap(provider_ref, provider.key)
        except Exception as exc:  # NATS away, a bucket refusing: it runs, the claims come later
            log.warning("provider %s: claims not published: %s", provider.key, exc)
        return provider

    async def stop_provider(self, key: str, link_name: str, reason: str = "normal") -> bool:
        """Stop one provider; False when it does not run here."""
        provider = self.running.pop((key, link_name), None)
        if provider is None:
            return False
        await provider.stop(reason)
        return True

    async def stop_all(self) -> None:
        """Every provider of the host, as the host stops."""
        await asyncio.gather(*(self.stop_provider(key, link, "host stopped")
                               for key, link in list(self.running)), return_exceptions=True)
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    # -- what inventories and heartbeats say

    def inventory(self) -> list[dict[str, Any]]:
        return [{"id": p.key, "image_ref": p.image_ref, "contract_id": p.contract_id,
                 "link_name": p.link_name, "name": p.ready.name, "instance_id": p.instance_id,
                 "annotations": p.annotations, "revision": p.ready.revision}
                for p in self.running.values()]

    def heartbeat(self) -> list[dict[str, str]]:
        return [p.identity() for p in self.running.values()]
