"""A host manifest in the seed's format (YAML or JSON), read and checked field by field.

```yaml
labels:
  room: kitchen
actors:
  - ./echo_s.wasm                        # a file (relative to the manifest's folder)
  - registry.example.com/greeter:0.1.0   # or an OCI reference
capabilities:
  - image_ref: registry.example.com/httpserver:0.1.0
    link_name: default                   # optional
links:
  - actor: ${ECHO_ACTOR}                 # ${VAR} and ${VAR:default} come from the environment
    contract_id: wasmcloud:httpserver
    provider_id: VAG3QITQQ2ODAOWB5TTQSDJ53XK3SHBEIFNK4AYJ5RKAX2UNSCAPHA5M
    link_name: default                   # optional
    values: {PORT: "8080"}               # optional
```

Everything is checked before anything is applied: a bad manifest is refused with the entry
and the field that broke a rule, and nothing changes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from edgegate.manifests.expand import expand
from edgegate.registries.references import OciReference
from edgegate.registries.references import ReferenceError as NotAReference
from edgegate.wascap.keys import InvalidKeyError, public_key_kind

FIELDS = ("labels", "actors", "capabilities", "links")
CAPABILITY_FIELDS = ("image_ref", "link_name")
LINK_FIELDS = ("actor", "contract_id", "provider_id", "link_name", "values")
DEFAULT_LINK_NAME = "default"


class ManifestError(ValueError):
    """A manifest that cannot be applied; the message names the file, entry and field."""


@dataclass(frozen=True)
class ActorEntry:
    text: str  # as the manifest writes it (expanded)
    path: Path | None = None  # a module file, or None for an OCI reference

    @property
    def ref(self) -> str:
        """The actor's reference: file://… for a file, else the OCI reference."""
        return self.path.as_uri() if self.path is not None else self.text


@dataclass(frozen=True)
class CapabilityEntry:
    image_ref: str
    link_name: str = DEFAULT_LINK_NAME


@dataclass(frozen=True)
class LinkEntry:
    actor: str
    contract_id: str
    provider_id: str
    link_name: str = DEFAULT_LINK_NAME
    values: dict[str, str] = field(default_factory=dict)

    def same_as(self, other: LinkEntry) -> bool:
        return (self.actor, self.contract_id, self.link_name) == \
            (other.actor, other.contract_id, other.link_name)


@dataclass
class HostManifest:
    labels: dict[str, str] = field(default_factory=dict)
    actors: list[ActorEntry] = field(default_factory=list)
    capabilities: list[CapabilityEntry] = field(default_factory=list)
    links: list[LinkEntry] = field(default_factory=list)


def load_manifest(path: Path, env: Mapping[str, str]) -> HostManifest:
    """Read a manifest file: YAML for .yaml, .yml or no extension, JSON otherwise (as the
    seed's host chooses); ManifestError for a file that cannot be read or is not valid."""
    source = f"manifest {path}"
    try:
        text = path.read_text()
    except OSError as exc:
        raise ManifestError(f"{source}: cannot read it ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ManifestError(f"{source}: not UTF-8 text") from None
    as_yaml = path.suffix.lower() in (".yaml", ".yml", "")
    try:
        data = yaml.safe_load(text) if as_yaml else json.loads(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        raise ManifestError(f"{source}: not YAML{at} ({getattr(exc, 'problem', exc)})") \
            from None
    except (ValueError, RecursionError) as exc:
        raise ManifestError(f"{source}: not JSON ({exc})") from None
    return parse_manifest(data, env, path.parent, source)


def parse_manifest(data: Any, env: Mapping[str, str], base: Path,
                   source: str = "manifest") -> HostManifest:
    """A manifest from its parsed document (a dict as from YAML or JSON); `${…}` expanded from
    `env` in every string, relative actor paths taken from `base`."""
    reader = _Reader(source, env, base)
    if data is None:
        raise ManifestError(f"{source}: it is empty; give at least one of {', '.join(FIELDS)}")
    top = reader.mapping(data, "", FIELDS)
    manifest = HostManifest()
    if top.get("labels") is not None:
        manifest.labels = reader.strings(top["labels"], "labels")
    for number, item in enumerate(reader.listed(top, "actors")):
        manifest.actors.append(reader.actor(item, f"actors[{number}]"))
    for number, item in enumerate(reader.listed(top, "capabilities")):
        manifest.capabilities.append(reader.capability(item, f"capabilities[{number}]"))
    for number, item in enumerate(reader.listed(top, "links")):
        link = reader.link(item, f"links[{number}]")
        for earlier, other in enumerate(manifest.links):
            if link.same_as(other):
                raise ManifestError(f"{source}: links[{number}]: the same link as "
                                    f"links[{earlier}] (actor, contract_id and link_name)")
        manifest.links.append(link)
    return manifest


class _Reader:
    """Checks one part of a document after another; every error names `source` and the field."""

    def __init__(self, source: str, env: Mapping[str, str], base: Path):
        self.source = source
        self.env = env
        self.base = base

    def fail(self, where: str, rule: str) -> ManifestError:
        return ManifestError(f"{self.source}: {where}: {rule}" if where else
                             f"{self.source}: {rule}")

    def mapping(self, value: Any, where: str, known: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"must be a map with {', '.join(known)}, got "
                                   f"{_kind(value)}")
        for name in value:
            if name not in known:
                raise self.fail(_join(where, str(name)), f"unknown field (known: "
                                                         f"{', '.join(known)})")
        return value

    def listed(self, top: dict[str, Any], name: str) -> list[Any]:
        value = top.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(name, f"must be a list, got {_kind(value)}")
        return value

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"must be a non-empty string, got {value!r}")
        return expand(value, self.env)

    def strings(self, value: Any, where: str) -> dict[str, str]:
        if not isinstance(value, dict):
            raise self.fail(where, f"must be a map of strings, got {_kind(value)}")
        out = {}
        for key, item in value.items():
            if not isinstance(key, str) or not key:
                raise self.fail(where, f"key {key!r} must be a non-empty string")
            if not isinstance(item, str):
                raise self.fail(_join(where, key), f"must be a string, got {item!r} (quote it)")
            out[expand(key, self.env)] = expand(item, self.env)
        return out

    def actor(self, value: Any, where: str) -> ActorEntry:
        text = self.text(value, where)
        plain = text.removeprefix("file://")
        path = Path(plain).expanduser()
        if not path.is_absolute():
            path = self.base / path
        if text.startswith("file://") or path.is_file():
            if not path.is_file():
                raise self.fail(where, f"{text!r}: no such file")
            return ActorEntry(text, path.resolve())
        if _looks_like_path(text):
            raise self.fail(where, f"{text!r}: no such file ({path})")
        try:
            OciReference.parse(text)
        except NotAReference as exc:
            raise self.fail(where, f"not a file, and not an OCI reference: {exc}") from None
        return ActorEntry(text)

    def capability(self, value: Any, where: str) -> CapabilityEntry:
        item = self.mapping(value, where, CAPABILITY_FIELDS)
        if "image_ref" not in item:
            raise self.fail(_join(where, "image_ref"), "is missing")
        return CapabilityEntry(self.text(item["image_ref"], _join(where, "image_ref")),
                               self._link_name(item, where))

    def link(self, value: Any, where: str) -> LinkEntry:
        item = self.mapping(value, where, LINK_FIELDS)
        for name in ("actor", "contract_id", "provider_id"):
            if name not in item:
                raise self.fail(_join(where, name), "is missing")
        values = item.get("values")
        return LinkEntry(
            actor=self.key(item["actor"], _join(where, "actor"), "module", "an actor's", "M"),
            contract_id=self.text(item["contract_id"], _join(where, "contract_id")),
            provider_id=self.key(item["provider_id"], _join(where, "provider_id"), "provider",
                                 "a provider's", "V"),
            link_name=self._link_name(item, where),
            values={} if values is None else self.strings(values, _join(where, "values")))

    def key(self, value: Any, where: str, kind: str, whose: str, prefix: str) -> str:
        text = self.text(value, where)
        try:
            right = public_key_kind(text) == kind
        except InvalidKeyError:
            right = False
        if not right:
            raise self.fail(where, f"must be {whose} public key ({prefix}…, 56 characters), "
                                   f"got {text!r}")
        return text

    def _link_name(self, item: dict[str, Any], where: str) -> str:
        if item.get("link_name") is None:
            return DEFAULT_LINK_NAME
        return self.text(item["link_name"], _join(where, "link_name"))


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _kind(value: Any) -> str:
    return {dict: "a map", list: "a list", str: "a string"}.get(type(value), repr(value))


def _looks_like_path(text: str) -> bool:
    return text.startswith(("/", "./", "../", "~")) or text.endswith(".wasm")
