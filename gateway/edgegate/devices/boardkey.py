"""A board's id and pairing key, as its key file keeps them: what reaches the board."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from edgegate.devices.session import BoardError
from edgelink import pairing


class BoardKey:
    """A board's id and pairing key, as kept in a key file: {"board_id", "pairing_key"}."""

    def __init__(self, board_id: str, pairing_key: bytes):
        self.board_id = board_id
        self.pairing_key = pairing_key

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
        except pairing.PairingError as exc:
            raise BoardError(f"key file {path}: {exc}") from None
        return cls(board_id, key)

    @classmethod
    def create(cls, path: Path, board_id: str) -> BoardKey:
        """Write a new key file (mode 0600, never over an existing one) with a random key."""
        pairing.board_id_bytes(board_id)  # PairingError (a ValueError) for a bad id
        key = cls(board_id, secrets.token_bytes(pairing.KEY_BYTES))
        text = json.dumps({"board_id": board_id, "pairing_key": key.pairing_key.hex()}) + "\n"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return key
