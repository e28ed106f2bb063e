"""Provider archives for tests: the project's kv provider packed for this machine, and
archives of any binaries (broken ones too)."""

from __future__ import annotations

import sys
from pathlib import Path

from edgecli.parcmds import archive_bytes
from edgegate.providers.archive import platform_target
from edgegate.wascap import KeyPair
from edgegate.wascap.archives import provider_token

KV_SOURCE = Path(__file__).resolve().parents[2] / "tools" / "providers" / "kv_provider.py"
KV_CONTRACT = "wasmcloud:keyvalue"
HEALTH_SECONDS = 0.3  # the tests' interval between health checks (30 s by default)


def kv_binary() -> bytes:
    """The kv provider as an executable for this machine: run by the tests' interpreter,
    which has nats-py (a real deployment would pack a frozen binary)."""
    source = KV_SOURCE.read_text().split("\n", 1)[1]
    return f"#!{sys.executable}\n{source}".encode()


def write_par(path: Path, binaries: dict[str, bytes], capid: str = KV_CONTRACT,
              name: str = "kv") -> str:
    """A provider archive at `path`; returns the provider's public key."""
    subject = KeyPair.generate("provider")
    token = provider_token(KeyPair.generate("account"), subject, name, capid, "edgehost tests",
                            binaries)
    path.write_bytes(archive_bytes(token, binaries, path.name.endswith(".gz")))
    return subject.public_key


def kv_par(folder: Path) -> tuple[str, str]:
    """(file:// reference, provider key) of the kv provider's archive."""
    path = folder / "kv.par.gz"
    key = write_par(path, {platform_target(): kv_binary()})
    return f"file://{path}", key
