"""The board identity the tests use, and key files holding it."""

from __future__ import annotations

import os
from pathlib import Path

BOARD_ID = "bench-3"
PAIRING_KEY = bytes(range(32))


def write_key_file(path: Path, board_id: str = BOARD_ID, key: bytes = PAIRING_KEY) -> Path:
    path.write_text('{"board_id": "%s", "pairing_key": "%s"}' % (board_id, key.hex()))
    os.chmod(path, 0o600)
    return path
