"""A board's id and pairing key, as its key file keeps them: what reaches the board."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from edgegate.devices.session import BoardError
from edgelink import pairing


class BoardKey:
    """A board's id and pairing key, as kept in a key file: {"board_id", "pairing_key"}, and
    "native_key" for a board that takes native code from its gateway (the ahead-of-time tier;
    none: it runs wasm only)."""

    def __init__(self, board_id: str, pairing_key: bytes, native_key: bytes | None = None):
        self.board_id = board_id
        self.pairing_key = pairing_key
        self.native_key = native_key

    @classmethod
    def load(cls, path: Path) -> BoardKey:
        """Read and check a key file; BoardError names the file and the rule it broke."""
        rule = 'a JSON object {"board_id": "<id>", "pairing_key": "<64 hex digits>"}'
        try:
            data = json.loads(path.read_text())
        except OSError as exc:
            raise BoardError(f"key file {path}: cannot read it ({exc.strerror})") from None
        except (UnicodeDecodeError, ValueError):
            raise BoardError(f"key file {path}: not JSON; it must be {rule}") from None
        if not isinstance(data, dict):
            raise BoardError(f"key file {path}: it must be {rule}")
        try:
            board_id = pairing.board_id_bytes(data.get("board_id")).decode()
            key = pairing.pairing_key(data.get("pairing_key"))
            native = data.get("native_key")
            if native is not None:
                native = pairing.pairing_key(native, pairing.NATIVE_KEY_RULE)
        except pairing.PairingError as exc:
            raise BoardError(f"key file {path}: {exc}") from None
        return cls(board_id, key, native)

    @classmethod
    def create(cls, path: Path, board_id: str, native: bool = False) -> BoardKey:
        """Write a new key file (mode 0600, never over an existing one) with a random key, and
        a random native-code key when `native`."""
        pairing.board_id_bytes(board_id)  # PairingError (a ValueError) for a bad id
        key = cls(board_id, secrets.token_bytes(pairing.KEY_BYTES))
        if native:
            key.native_key = secrets.token_bytes(pairing.KEY_BYTES)
        key.write(path)
        return key

    def with_native_key(self, path: Path) -> BoardKey:
        """This key with a new random native-code key, written over its key file at `path`
        (the board must get it too: turning the tier on means provisioning it again)."""
        self.native_key = secrets.token_bytes(pairing.KEY_BYTES)
        self.write(path, replace=True)
        return self

    def write(self, path: Path, replace: bool = False) -> None:
        """Write this key as a key file (mode 0600); over an existing one only if `replace`."""
        data = {"board_id": self.board_id, "pairing_key": self.pairing_key.hex()}
        if self.native_key is not None:
            data["native_key"] = self.native_key.hex()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if replace else os.O_EXCL),
                     0o600)
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(data) + "\n")
