"""The board registry file: which boards a gateway serves, with their keys and where they are.

```json
{"boards": [
  {"board_id": "kitchen", "pairing_key": "<64 hex digits>", "port": "/dev/ttyUSB0",
   "baud": 921600, "labels": {"room": "kitchen"}, "friendly_name": "kitchen sensor"},
  {"board_id": "porch", "key_file": "porch.key", "tcp": "192.168.1.40:4500"},
  {"board_id": "shed", "key_file": "shed.key", "listen": "0.0.0.0:4500"}
]}
```

`port` is a serial device or pyserial URL, `tcp` an address the gateway dials, `listen` an
address where the gateway waits for Wi-Fi boards to dial in (boards may share one).
`key_file` is a key file as `edgehost sim` writes it, relative to the registry file.
`native_key` (64 hex digits, or in the key file) is the board's native-code key: with it, the
gateway translates the board's actors to native code for a board that takes it (see
edgegate.vhost.nativecode).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgegate.devices.boardkey import BoardKey
from edgegate.devices.session import BoardError
from edgegate.devices.transports import parse_tcp_address
from edgelink import pairing

DEFAULT_BAUD = 921600
PLACES = ("port", "tcp", "listen")
_SAFE_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


class RegistryError(ValueError):
    """A registry file that cannot be used; the message names the file, board and rule."""


@dataclass
class BoardEntry:
    board_id: str
    pairing_key: bytes
    how: str  # "port", "tcp" or "listen"
    address: str
    baud: int = DEFAULT_BAUD
    labels: dict[str, str] = field(default_factory=dict)
    friendly_name: str = ""
    native_key: bytes | None = None  # signs translations for the ahead-of-time tier

    @property
    def tcp_address(self) -> tuple[str, int]:
        return parse_tcp_address(self.address, listening=self.how == "listen")


def subject_token(board_id: str) -> str:
    """A board id as one NATS subject token (hex-escaped when it has other characters)."""
    if _SAFE_TOKEN.fullmatch(board_id):
        return board_id
    return "x" + board_id.encode().hex()


def load_registry(path: Path) -> list[BoardEntry]:
    """Read and check a registry file; RegistryError says what is wrong with which board."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise RegistryError(f"board registry {path}: cannot read it ({exc.strerror})") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise RegistryError(f"board registry {path}: not JSON ({exc})") from None
    boards = data.get("boards") if isinstance(data, dict) else data
    if not isinstance(boards, list) or not boards:
        raise RegistryError(f'board registry {path}: expected {{"boards": [...]}} with at '
                            f'least one board')
    entries: list[BoardEntry] = []
    seen: set[str] = set()
    for number, item in enumerate(boards, 1):
        entry = _entry(path, number, item)
        if entry.board_id in seen:
            raise RegistryError(f"board registry {path}: board {entry.board_id!r} is listed "
                                f"twice")
        seen.add(entry.board_id)
        entries.append(entry)
    return entries


def _entry(path: Path, number: int, item: Any) -> BoardEntry:
    where = f"board registry {path}, board {number}"
    if not isinstance(item, dict):
        raise RegistryError(f"{where}: expected an object")
    board_id = item.get("board_id")
    if not isinstance(board_id, str) or not 0 < len(board_id.encode()) <= 64:
        raise RegistryError(f"{where}: board_id must be a string of 1 to 64 bytes")
    where = f"board registry {path}, board {board_id!r}"
    key, native_key = _keys(path, where, item, board_id)
    places = [name for name in PLACES if name in item]
    if len(places) != 1 or not isinstance(item[places[0]], str) or not item[places[0]]:
        raise RegistryError(f"{where}: give exactly one of port (serial), tcp (dial) or "
                            f"listen (boards dial in), as a string")
    how = places[0]
    entry = BoardEntry(board_id, key, how, item[how], native_key=native_key)
    if how != "port":
        try:
            entry.tcp_address  # noqa: B018 - checks the address now, not at first use
        except ValueError as exc:
            raise RegistryError(f"{where}: {how}: {str(exc).split(': ', 1)[-1]}") from None
    baud = item.get("baud", DEFAULT_BAUD)
    if not isinstance(baud, int) or isinstance(baud, bool) or baud <= 0:
        raise RegistryError(f"{where}: baud must be a speed in bits per second above 0")
    entry.baud = baud
    labels = item.get("labels", {})
    if not isinstance(labels, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise RegistryError(f"{where}: labels must be an object of strings")
    entry.labels = labels
    name = item.get("friendly_name", "")
    if not isinstance(name, str):
        raise RegistryError(f"{where}: friendly_name must be a string")
    entry.friendly_name = name
    return entry


def _keys(path: Path, where: str, item: dict[str, Any],
          board_id: str) -> tuple[bytes, bytes | None]:
    """(pairing key, native-code key or None) of a registry item."""
    if "key_file" in item:
        key_path = path.parent / str(item["key_file"])
        try:
            key = BoardKey.load(key_path)
        except BoardError as exc:
            raise RegistryError(f"{where}: {exc}") from None
        if key.board_id != board_id:
            raise RegistryError(f"{where}: key file {key_path} is for board {key.board_id!r}")
        return key.pairing_key, key.native_key
    text = item.get("pairing_key")
    try:
        key = bytes.fromhex(text) if isinstance(text, str) else b""
    except ValueError:
        key = b""
    if len(key) != 32:
        raise RegistryError(f"{where}: pairing_key must be 64 hex digits (32 bytes), or give "
                            f"key_file")
    if item.get("native_key") is None:
        return key, None
    try:
        return key, pairing.pairing_key(item["native_key"], pairing.NATIVE_KEY_RULE)
    except pairing.PairingError as exc:
        raise RegistryError(f"{where}: {exc}") from None


def registry_items(path: Path) -> list[Any]:
    """The raw board items of a registry file, [] when there is no file yet."""
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RegistryError(f"board registry {path}: cannot read it as JSON ({exc})") from None
    boards = data.get("boards") if isinstance(data, dict) else data
    if not isinstance(boards, list):
        raise RegistryError(f'board registry {path}: expected {{"boards": [...]}}')
    return boards


def put_board(path: Path, item: dict[str, Any]) -> list[BoardEntry]:
    """Add board `item` to the registry file at `path` (made if absent), replacing the entry of
    the same board id; the file is checked as a gateway reads it before it replaces the old one,
    and kept private (mode 0600: it holds pairing keys)."""
    boards = [b for b in registry_items(path)
              if not (isinstance(b, dict) and b.get("board_id") == item.get("board_id"))]
    boards.append(item)
    scratch = path.with_name(path.name + ".new")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps({"boards": boards}, indent=2) + "\n")
    try:
        entries = load_registry(scratch)
    except RegistryError as exc:
        scratch.unlink()
        raise RegistryError(str(exc).replace(str(scratch), str(path))) from None
    os.replace(scratch, path)
    return entries
