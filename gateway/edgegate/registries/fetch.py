"""Actor references to module bytes: OCI pulls (cached by digest) and gated `file://` loads."""

from __future__ import annotations

import asyncio
import hashlib
import urllib.parse
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgegate.registries.oci import MAX_MODULE_BYTES, Credential, OciClient, RegistryError
from edgegate.registries.references import OciReference, ReferenceError

CACHE_BYTES = 64 * 1024 * 1024


@dataclass
class RegistrySettings:
    """The OTP host's variables for fetching actors."""

    allow_file_load: bool = False
    allow_latest: bool = False
    insecure: set[str] = field(default_factory=set)

    @classmethod
    def from_env(cls, env: Mapping[str, str], allow_file_load: bool) -> RegistrySettings:
        insecure = env.get("WASMCLOUD_OCI_ALLOWED_INSECURE", "")
        return cls(allow_file_load=allow_file_load,
                   allow_latest=env.get("WASMCLOUD_OCI_ALLOW_LATEST", "").lower() == "true",
                   insecure={part.strip() for part in insecure.split(",") if part.strip()})


@dataclass
class FetchedActor:
    module: bytes
    image_ref: str
    pulled: bool  # False when it came from the cache


def parse_credentials(data: Any) -> dict[str, Credential]:
    """A `registries.put` body: `{host: {username, password, token?, registryType?}}`."""
    if not isinstance(data, dict):
        raise ValueError("registries.put: expected a JSON object of registry hosts")
    out: dict[str, Credential] = {}
    for host, item in data.items():
        if not isinstance(item, dict):
            raise ValueError(f"registries.put: registry {host!r}: expected an object with "
                             f"username and password (or token)")
        values = {name: item.get(name) or "" for name in ("username", "password", "token")}
        for name, value in values.items():
            if not isinstance(value, str):
                raise ValueError(f"registries.put: registry {host!r}: {name} must be a string")
        kind = item.get("registryType", "oci")
        if kind != "oci":
            raise ValueError(f"registries.put: registry {host!r}: registryType {kind!r} is "
                             f"not supported (only oci)")
        out[host] = Credential(**values)
    return out


class ActorFetcher:
    """Turns `actor_ref`s into modules. The claims are not checked here; the installer does."""

    def __init__(self, settings: RegistrySettings):
        self.settings = settings
        self.client = OciClient(insecure=settings.insecure)
        self._digests: dict[str, str] = {}  # reference → sha256 of its module
        self._modules: OrderedDict[str, bytes] = OrderedDict()  # sha256 → module

    def set_credentials(self, credentials: dict[str, Credential]) -> None:
        """Replace the credentials map, as the OTP host does on registries.put."""
        self.client.use_credentials(credentials)

    async def fetch(self, actor_ref: str, kind: str = "actor") -> FetchedActor:
        """The bytes `actor_ref` names: an actor's module, or with kind "provider" a provider
        archive (`module` then holds the archive)."""
        if actor_ref.startswith("file://"):
            return await self._load_file(actor_ref)
        try:
            ref = OciReference.parse(actor_ref)
        except ReferenceError as exc:
            raise RegistryError(str(exc)) from None
        if ref.is_latest and not self.settings.allow_latest:
            raise RegistryError(f"{actor_ref}: refers to the tag latest, which this host does "
                                f"not fetch unless WASMCLOUD_OCI_ALLOW_LATEST=true; give a "
                                f"version tag or a digest")
        if not ref.is_latest:  # a tag that moved is the publisher's business, as on OTP
            cached = self._cached(self._digests.get(str(ref)))
            if cached is not None:
                return FetchedActor(cached, actor_ref, pulled=False)
        pulled = await asyncio.to_thread(self.client.pull, ref, kind)
        self._remember(str(ref), pulled.module)
        return FetchedActor(pulled.module, actor_ref, pulled=True)

    async def _load_file(self, actor_ref: str) -> FetchedActor:
        if not self.settings.allow_file_load:
            raise RegistryError(f"{actor_ref}: file:// references are refused unless the "
                                f"gateway runs with WASMCLOUD_ALLOW_FILE_LOAD=true")
        path = Path(urllib.parse.unquote(urllib.parse.urlparse(actor_ref).path))
        try:
            size = path.stat().st_size
            if size > MAX_MODULE_BYTES:
                raise RegistryError(f"{actor_ref}: {size} bytes, above the limit of "
                                    f"{MAX_MODULE_BYTES}")
            module = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise RegistryError(f"{actor_ref}: cannot read {path} ({exc.strerror})") from None
        return FetchedActor(module, actor_ref, pulled=True)

    def _cached(self, digest: str | None) -> bytes | None:
        if digest is None or digest not in self._modules:
            return None
        self._modules.move_to_end(digest)
        return self._modules[digest]

    def _remember(self, ref: str, module: bytes) -> None:
        digest = hashlib.sha256(module).hexdigest()
        self._digests[ref] = digest
        self._modules[digest] = module
        self._modules.move_to_end(digest)
        while sum(map(len, self._modules.values())) > CACHE_BYTES and len(self._modules) > 1:
            self._modules.popitem(last=False)
