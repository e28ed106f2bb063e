"""`edgehost keys`: new nkeys for every wascap role, and public keys read from seeds."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from edgecli.commands import fail
from edgegate.wascap import InvalidKeyError, KeyPair

KEYS_DIR_ENV = "EDGEHOST_KEYS_DIR"


def keys_dir() -> Path:
    """Where generated seeds are kept: $EDGEHOST_KEYS_DIR, else ~/.edgehost/keys."""
    configured = os.environ.get(KEYS_DIR_ENV)
    return Path(configured) if configured else Path.home() / ".edgehost" / "keys"


def save_seed(path: Path, key: KeyPair) -> None:
    """Write a seed readable by its owner only; an existing file is never overwritten."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
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
    path = keys_dir() / f"{name}_{kind}.nk"
    if path.exists():
        print(f"edgehost: using the {kind} key in {path}", file=sys.stderr)
        return load_key(str(path))
    key = KeyPair.generate(kind)
    save_seed(path, key)
    print(f"edgehost: generated a new {kind} key {key.public_key}; its seed is saved in {path}",
          file=sys.stderr)
    return key


def keys_gen(args: argparse.Namespace) -> int:
    key = KeyPair.generate(args.kind)
    if args.output:
        path = Path(args.output)
        try:
            save_seed(path, key)
        except FileExistsError:
            return fail(f"keys gen: {path} exists; a seed file is never overwritten")
        except OSError as exc:
            return fail(f"keys gen: cannot write {path}: {exc.strerror}")
        print(f"Public key: {key.public_key}")
        print(f"Seed written to {path} (mode 0600)")
        return 0
    print(f"Public key: {key.public_key}")
    print(f"Seed:       {key.seed}")
    return 0


def keys_get(args: argparse.Namespace) -> int:
    try:
        key = load_key(args.seed)
    except InvalidKeyError as exc:
        return fail(f"keys get: {exc}")
    print(key.public_key)
    return 0
