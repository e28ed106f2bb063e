"""The keys the commands sign with (seed text, seed files, the keys folder) and the
capabilities they sign in."""

from __future__ import annotations

import os
import re
from pathlib import Path

from edgecli.output import note
from edgegate.config import KEYS_DIR_ENV, keys_dir
from edgegate.wascap import InvalidKeyError, KeyPair

_CONTRACT_ID = re.compile(r"[^\s:]+(?::[^\s:]+)+")
BAD_INPUT = (OSError, ValueError)  # WasmFormatError, ClaimsError, ArchiveError, InvalidKeyError


def signing_key(value: str | None, name: str, kind: str, option: str):
    if value is None:
        return signing_account() if kind == "account" else stored_key(name, kind)
    try:
        return load_key(value)
    except InvalidKeyError as exc:
        raise InvalidKeyError(f"{option}: {exc}")


def check_caps(caps: list[str]) -> None:
    """Refuse (ValueError) a --cap that is not a contract id."""
    for cap in caps:
        if not _CONTRACT_ID.fullmatch(cap):
            raise ValueError(f"--cap {cap!r}: a capability is a contract id like "
                             "wasmcloud:httpserver")



def save_seed(path: Path, key: KeyPair) -> None:
    """Write a seed readable by its owner only; an existing file is never overwritten."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        os.fchmod(out.fileno(), 0o600)  # whatever the umask
        out.write(key.seed + "\n")


def load_key(value: str) -> KeyPair:
    """A key pair from seed text or from a file holding one; raises InvalidKeyError."""
    text = value.strip()
    if not (text.startswith("S") and len(text) == 58):
        path = Path(value).expanduser()
        try:
            text = path.read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not text"
            raise InvalidKeyError(
                f"{value!r} is neither a seed nor a readable seed file ({reason})"
            )
    return KeyPair.from_seed(text)


def stored_key(name: str, kind: str) -> KeyPair:
    """The key `{name}_{kind}.nk` from the keys folder, made and saved the first time."""
    folder = keys_dir()
    if folder.exists() and not folder.is_dir():
        raise InvalidKeyError(f"the keys folder {folder} is a file, not a folder (set "
                              f"{KEYS_DIR_ENV} to a folder)")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{name}_{kind}.nk"
    if path.exists():
        note(f"using the {kind} key in {path}")
        return load_key(str(path))
    key = KeyPair.generate(kind)
    save_seed(path, key)
    note(f"generated a new {kind} key {key.public_key}; its seed is saved in {path}")
    return key


ACCOUNT = "default"  # default_account.nk: the one account that signs for this user


FORMER_DEV_ACCOUNT = "dev_account.nk"  # what --dev-sign and `up` signed with before


def signing_account() -> KeyPair:
    """The user's one signing account (default_account.nk in the keys folder), for `claims
    sign`, `par create`, --dev-sign and `up`; a dev_account.nk an earlier edgehost made
    becomes it when there is none yet, so what it signed keeps its issuer."""
    folder = keys_dir()
    former, current = folder / FORMER_DEV_ACCOUNT, folder / f"{ACCOUNT}_account.nk"
    if former.is_file() and not current.exists():
        former.rename(current)
        note(f"{former} is now {current}, the one account that signs for you")
    return stored_key(ACCOUNT, "account")
