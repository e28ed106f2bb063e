"""OCI references as wasmCloud uses them: registry host, repository, tag or digest."""

from __future__ import annotations

import re
from dataclasses import dataclass

_REPOSITORY = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)"
                         r"[a-z0-9]+)*)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
LATEST = "latest"


class ReferenceError(ValueError):
    """A string that is not an OCI reference; the message names it and the rule."""


@dataclass(frozen=True)
class OciReference:
    registry: str  # host[:port]
    repository: str
    tag: str = ""
    digest: str = ""

    @property
    def reference(self) -> str:
        """What goes after /manifests/: the digest when there is one, else the tag."""
        return self.digest or self.tag

    @property
    def is_latest(self) -> bool:
        return not self.digest and self.tag == LATEST

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    @classmethod
    def parse(cls, text: str) -> OciReference:
        """`host[:port]/repo[:tag][@sha256:…]`; no tag and no digest means `latest`."""
        if not isinstance(text, str) or not text:
            raise ReferenceError(f"OCI reference {text!r}: expected a non-empty string")
        rest, _, digest = text.partition("@")
        if digest and not _DIGEST.fullmatch(digest):
            raise ReferenceError(f"OCI reference {text!r}: the digest must be sha256: and "
                                 f"64 lower-case hex digits")
        registry, slash, path = rest.partition("/")
        # as in Docker's rules, the first part names a registry only if it looks like a host
        if not slash or not ("." in registry or ":" in registry or registry == "localhost"):
            raise ReferenceError(f"OCI reference {text!r}: it must begin with a registry host, "
                                 f"e.g. registry.example.com/echo:0.1.0")
        repository, tag = path, ""
        last = path.rsplit("/", 1)[-1]
        if ":" in last:
            repository, tag = path.rsplit(":", 1)
            if not _TAG.fullmatch(tag):
                raise ReferenceError(f"OCI reference {text!r}: tag {tag!r} is not a valid tag")
        if not _REPOSITORY.fullmatch(repository):
            raise ReferenceError(f"OCI reference {text!r}: repository {repository!r} must be "
                                 f"lower-case letters, digits and separators")
        if not tag and not digest:
            tag = LATEST
        return cls(registry, repository, tag, digest)
