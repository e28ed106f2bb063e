"""Actors signed for tests with fresh keys, as a board's install request carries them."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

from edgegate.wascap import ActorMetadata, KeyPair, sign_module
from edgemodule import claimcheck

ACCOUNT = KeyPair.generate("account")


class SignedActor:
    """A module signed for tests, with what an install request carries."""

    def __init__(self, module: bytes, name: str, caps: list[str] | None = None,
                 call_alias: str | None = None, subject: KeyPair | None = None):
        self.subject = subject or KeyPair.generate("module")
        self.key = self.subject.public_key
        self.module = sign_module(module, ACCOUNT, self.subject,
                                  ActorMetadata(name, caps=caps, call_alias=call_alias))
        self.token = claimcheck.scan(io.BytesIO(self.module), len(self.module))[1]
        self.sha256 = hashlib.sha256(self.module).digest()

    def install(self, claims: bool | str = True, **changes: Any) -> dict[str, Any]:
        """The install request; claims=False leaves the token out (the board then reads the
        module's own claims section), a string sends that instead."""
        msg = {"t": "install", "actor": self.key, "sha256": self.sha256}
        if claims is not False:
            msg["claims"] = self.token if claims is True else claims
        msg.update(changes)
        return msg


def sign_to_file(module: bytes, path: Path, name: str, caps: list[str] | None = None,
                 call_alias: str | None = None, expires_in: int | None = None) -> str:
    """Write `module` signed with fresh keys to `path`; returns the module's public key."""
    subject = KeyPair.generate("module")
    path.write_bytes(sign_module(module, KeyPair.generate("account"), subject,
                                 ActorMetadata(name, caps or [], call_alias=call_alias),
                                 expires_in=expires_in))
    return subject.public_key
