"""A provider archive made ready to run: claims verified, this platform's binary written out."""

from __future__ import annotations

import os
import platform
import shutil
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgegate.wascap import ArchiveError, ClaimsError, ProviderArchive
from edgegate.wascap.keys import InvalidKeyError, public_key_kind

MACHINES = {"amd64": "x86_64", "x86_64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}
SYSTEMS = {"linux": "linux", "darwin": "macos", "win32": "windows"}


def platform_target() -> str:
    """This machine's target name as provider archives spell it (`x86_64-linux`)."""
    machine = platform.machine().lower()
    system = next((name for prefix, name in SYSTEMS.items() if sys.platform.startswith(prefix)),
                  sys.platform)
    return f"{MACHINES.get(machine, machine)}-{system}"


class ProviderUnusable(ValueError):
    """The archive cannot be run here; the message says why in one line."""


@dataclass
class ReadyProvider:
    """A verified provider and the path of its binary for this platform."""

    claims: dict[str, Any]
    binary: Path

    @property
    def key(self) -> str:
        return str(self.claims["sub"])

    @property
    def wascap(self) -> dict[str, Any]:
        return self.claims.get("wascap") or {}

    @property
    def contract_id(self) -> str:
        return str(self.wascap.get("capid") or "")

    @property
    def name(self) -> str:
        return str(self.wascap.get("name") or "")

    @property
    def revision(self) -> int:
        rev = self.wascap.get("rev")
        return rev if isinstance(rev, int) else 0


def prepare(data: bytes, ref: str, folder: Path, target: str | None = None) -> ReadyProvider:
    """Verify the archive `data` (from `ref`) and write its binary for `target` into `folder`.

    ProviderUnusable for anything that stops it from running here."""
    target = target or platform_target()
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".par") as copy:
        copy.write(data)
        copy.flush()
        try:
            archive = ProviderArchive(Path(copy.name))
            claims = archive.verify()
        except (ArchiveError, ClaimsError) as exc:
            raise ProviderUnusable(f"{ref}: {exc}") from None
        subject = claims.get("sub")
        try:
            if public_key_kind(str(subject)) != "provider":
                raise ProviderUnusable(f"{ref}: the claims' subject {subject} is not a "
                                       f"provider key (V…)")
        except InvalidKeyError as exc:
            raise ProviderUnusable(f"{ref}: the claims' subject: {exc}") from None
        if not (claims.get("wascap") or {}).get("capid"):
            raise ProviderUnusable(f"{ref}: the claims name no contract id (wascap.capid)")
        if target not in archive.binaries:
            have = ", ".join(sorted(archive.binaries)) or "none"
            raise ProviderUnusable(f"{ref}: no binary for this platform {target} in the "
                                   f"archive (it has: {have})")
        binary = folder / f"{subject}-{os.urandom(4).hex()}.bin"
        _extract(Path(copy.name), f"{target}.bin", binary)
    return ReadyProvider(claims, binary)


def _extract(archive: Path, member_name: str, out: Path) -> None:
    with tarfile.open(archive, "r:*") as tar:
        for member in tar:
            if member.isfile() and member.name.rsplit("/", 1)[-1] == member_name:
                source = tar.extractfile(member)
                assert source is not None
                fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700)
                with os.fdopen(fd, "wb") as f:
                    shutil.copyfileobj(source, f)
                return
    raise ProviderUnusable(f"{member_name} vanished from the archive")  # verified just before
