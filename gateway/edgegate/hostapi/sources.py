"""Where a Host's actors and providers come from: bytes, a file, or an OCI reference."""

from __future__ import annotations

import os
from pathlib import Path

from edgegate.control.commands import one_line
from edgegate.hostapi.errors import ActorError
from edgegate.registries import ActorFetcher, OciReference, RegistryError
from edgegate.registries.references import ReferenceError as NotAReference

ActorSource = bytes | str | os.PathLike[str]


def read_source(source: ActorSource) -> tuple[bytes | None, str]:
    """A module's bytes (None for an OCI reference, to be fetched) and the reference it came
    by ("" for bytes, file://… for a file)."""
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), ""
    text = os.fspath(source)
    path = Path(text.removeprefix("file://"))
    if not isinstance(source, str) or text.startswith("file://") or path.is_file():
        try:
            return path.read_bytes(), path.resolve().as_uri()
        except OSError as exc:
            raise ActorError(f"{text}: cannot read it ({exc.strerror})") from None
    try:
        OciReference.parse(text)
    except NotAReference as exc:
        raise ActorError(f"{text}: no such file, and not an OCI reference ({exc})") from None
    return None, text


async def fetch_module(fetcher: ActorFetcher, source: ActorSource) -> tuple[bytes, str]:
    """The module's bytes, fetched when the source is a reference, and its reference."""
    module, ref = read_source(source)
    if module is not None:
        return module, ref
    try:
        return (await fetcher.fetch(ref)).module, ref
    except RegistryError as exc:
        raise ActorError(one_line(exc)) from None


def provider_reference(source: str | Path) -> str:
    """An OCI reference as given; a path (or file:// URL) as the file:// URL of its absolute
    path, so one archive has one reference however it was named."""
    ref = str(source)
    path = Path(ref[len("file://"):]) if ref.startswith("file://") else Path(ref)
    if isinstance(source, Path) or ref.startswith("file://") or path.is_file():
        return path.resolve().as_uri()
    return ref
