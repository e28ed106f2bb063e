"""Provider archives (.par, .par.gz): a tar of `claims.jwt` and one `{arch}-{os}.bin` per target."""

from __future__ import annotations

import hashlib
import tarfile
import time
from pathlib import Path
from typing import Any

from edgegate.wascap import keys, tokens
from edgemodule.claimcheck import HASH_MISMATCH, MALFORMED, NO_CLAIMS, ClaimsError, hex_upper

CLAIMS_MEMBER = "claims.jwt"
MAX_CLAIMS = 65536  # bytes; a provider's claims with a config schema stay far below this


class ArchiveError(ValueError):
    """The file is not a readable provider archive; the message says why."""


class TargetCheck:
    """One target binary against the hash the claims give for it (either may be missing)."""

    def __init__(self, target: str, claimed: str | None, actual: str | None):
        self.target = target
        self.claimed = claimed
        self.actual = actual

    @property
    def ok(self) -> bool:
        return self.claimed is not None and self.claimed.upper() == self.actual

    @property
    def problem(self) -> str:
        if self.actual is None:
            return f"target {self.target}: in the claims but no {self.target}.bin in the archive"
        if self.claimed is None:
            return f"target {self.target}: {self.target}.bin has no hash in the claims"
        if not self.ok:
            return f"target {self.target}: binary {self.actual} vs claims {self.claimed.upper()}"
        return ""


class ProviderArchive:
    """A provider archive's claims token and the SHA-256 of each target binary."""

    def __init__(self, path: Path):
        self.path = path
        text = None
        self.binaries: dict[str, str] = {}
        try:
            with tarfile.open(path, "r:*") as tar:
                for member in tar:
                    name = member.name.rsplit("/", 1)[-1]
                    if not member.isfile():
                        continue
                    if name == CLAIMS_MEMBER:
                        text = self._read_claims(tar, member)
                    elif name.endswith(".bin"):
                        self.binaries[name[: -len(".bin")]] = self._hash(tar, member)
        except EOFError:
            raise ArchiveError("the provider archive is truncated")
        except (tarfile.TarError, OSError):
            raise ArchiveError(
                "not a readable provider archive (a tar, optionally gzip-compressed)"
            )
        if text is None:
            raise ClaimsError(NO_CLAIMS, f"the archive has no {CLAIMS_MEMBER}")
        self.token = tokens.Token(text)

    @staticmethod
    def _read_claims(tar: tarfile.TarFile, member: tarfile.TarInfo) -> str:
        if member.size > MAX_CLAIMS:
            raise ClaimsError(MALFORMED, f"{CLAIMS_MEMBER} holds {member.size} bytes")
        try:
            return tar.extractfile(member).read().decode().strip()
        except UnicodeDecodeError:
            raise ClaimsError(MALFORMED, f"{CLAIMS_MEMBER} is not UTF-8 text")

    @staticmethod
    def _hash(tar: tarfile.TarFile, member: tarfile.TarInfo) -> str:
        digest = hashlib.sha256()
        stream = tar.extractfile(member)
        for chunk in iter(lambda: stream.read(65536), b""):
            digest.update(chunk)
        return hex_upper(digest.digest())

    @property
    def claims(self) -> dict[str, Any]:
        return self.token.claims

    def target_checks(self) -> list[TargetCheck]:
        meta = self.claims.get("wascap")
        claimed = meta.get("target_hashes") if isinstance(meta, dict) else None
        if not isinstance(claimed, dict):
            raise ClaimsError(MALFORMED, "the provider claims carry no wascap.target_hashes")
        for target, value in claimed.items():
            if not isinstance(value, str):
                raise ClaimsError(MALFORMED, f"target_hashes[{target!r}] is {value!r}, not hex")
        names = sorted(set(claimed) | set(self.binaries))
        return [TargetCheck(n, claimed.get(n), self.binaries.get(n)) for n in names]

    def verify(self, now: float | None = None) -> dict[str, Any]:
        """Signature, times, and every target binary's hash; returns the claims."""
        self.token.verify(now)
        for check in self.target_checks():
            if not check.ok:
                raise ClaimsError(HASH_MISMATCH, check.problem)
        return self.claims


def provider_token(issuer: keys.KeyPair, subject: keys.KeyPair, name: str, capid: str,
                   vendor: str, binaries: dict[str, bytes], rev: int = 0,
                   version: str = "") -> str:
    """Provider claims for `subject`, with each target binary's hash, signed by the account
    `issuer` (a provider with no binaries, as a board's own, has no target hashes)."""
    wascap: dict[str, Any] = {
        "name": name, "capid": capid, "vendor": vendor,
        "target_hashes": {target: hex_upper(hashlib.sha256(data).digest())
                          for target, data in sorted(binaries.items())},
        "config_schema": None}
    if rev:
        wascap["rev"] = rev
    if version:
        wascap["ver"] = version
    claims = {"jti": tokens.new_jti(), "iat": int(time.time()), "iss": issuer.public_key,
              "sub": subject.public_key, "wascap": wascap, "wascap_revision": 3}
    return tokens.encode(claims, issuer)
