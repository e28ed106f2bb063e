"""The bench's boards for the pytest plugin: a hardware map file (like Zephyr twister's), and
which of its boards a test that asks for labels and a count can have."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from edgecli import mpbuild
from edgecli.profiles import DEFAULT_PROFILE, ProfileError, profile_json

if TYPE_CHECKING:
    from edgecli.benchparts import BoardKey

SIMULATED = "simulated"
RUNTIMES = ("cpython", "micropython", "circuitpython")  # a simulated board's interpreters


class BenchMapError(ValueError):
    """A hardware map that breaks a rule; the message names the file, the board and the rule."""


@dataclass
class BenchBoard:
    """A board of the bench: where it is (a port, tcp://HOST:PORT, or SIMULATED), its profile,
    its key (or key file; None when not given) and labels (its profile's facts included:
    `profile`, `psram`)."""

    where: str
    profile: str
    key: BoardKey | Path | None
    labels: dict[str, str] = field(default_factory=dict)
    baud: int = 921600

    def missing(self) -> str | None:
        """Why the board cannot be reached now, or None (a simulated board is always there)."""
        return None if self.where == SIMULATED else board_missing(self.where)


def profile_labels(name: str | None) -> dict[str, str]:
    """What a profile says that a test may ask for: its name and whether it has PSRAM."""
    name = name or DEFAULT_PROFILE
    try:
        psram = bool(profile_json(name).get("psram_bytes"))
    except ProfileError:
        psram = False
    return {"profile": name, "psram": str(psram).lower()}


def label_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def load_bench_map(path: Path) -> list[BenchBoard]:
    """The boards of a hardware map: a YAML list of {port | tcp, profile, key_file, labels}."""
    try:
        items = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise BenchMapError("hardware map %s: cannot read it (%s)" % (path, exc.strerror)) \
            from None
    except yaml.YAMLError as exc:
        raise BenchMapError("hardware map %s: not YAML (%s)" % (path, " ".join(
            str(exc).split()))) from None
    if not isinstance(items, list):
        raise BenchMapError("hardware map %s: must be a list of boards" % path)
    boards = []
    for number, item in enumerate(items, 1):
        where = "hardware map %s: board %d" % (path, number)
        if not isinstance(item, dict):
            raise BenchMapError("%s: must be a mapping (port or tcp, profile, key_file)" % where)
        if bool(item.get("port")) == bool(item.get("tcp")):
            raise BenchMapError("%s: give its port or its tcp address (HOST:PORT), one of them"
                                % where)
        for needed in ("profile", "key_file"):
            if not isinstance(item.get(needed), str):
                raise BenchMapError("%s: %s is missing" % (where, needed))
        labels = item.get("labels") or {}
        if not isinstance(labels, dict):
            raise BenchMapError("%s: labels must be a mapping of names to values" % where)
        place = str(item["port"]) if item.get("port") else "tcp://" + str(item["tcp"])
        boards.append(BenchBoard(place, item["profile"], path.parent / item["key_file"],
                                 {**profile_labels(item["profile"]),
                                  **{str(k): label_text(v) for k, v in labels.items()}}))
    return boards


def board_missing(where: str) -> str | None:
    """Why no board can be at `where` (a device path that is not there, a TCP address that
    does not answer), or None."""
    if where.startswith("tcp://"):
        host, _, port = where.removeprefix("tcp://").rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=2.0).close()
        except (OSError, ValueError) as exc:
            return "no board answers at %s (%s)" % (where, getattr(exc, "strerror", exc)
                                                    or exc)
        return None
    if "://" in where or os.path.exists(where):
        return None
    return "no board on %s" % where


def choose(boards: list[BenchBoard], count: int, wanted: dict[str, Any],
           source: str) -> list[BenchBoard] | str:
    """`count` attached boards with the labels `wanted`, or why the bench cannot give them."""
    asked = {k: label_text(v) for k, v in wanted.items()}
    attached = [b for b in boards if all(b.labels.get(k) == v for k, v in asked.items())
                and b.missing() is None]
    if len(attached) >= count:
        return attached[:count]
    what = " with " + ", ".join("%s=%s" % kv for kv in sorted(asked.items())) if asked else ""
    return ("the bench (%s) has %d board%s%s attached; this test needs %d"
            % (source, len(attached), "" if len(attached) == 1 else "s", what, count))


def micropython_built() -> bool:
    """Whether the board's MicroPython with its wasm3 module is built and up to date (the
    simulated board runs on it then; building it takes minutes, so a test run never does)."""
    # the 32-bit build, the one `sim --micropython` runs (mpbuild.board_build)
    binary = mpbuild.OUTPUT_32 / "micropython"
    stamp = mpbuild.OUTPUT_32 / "micropython.inputs"
    return (binary.exists() and stamp.exists()
            and stamp.read_text() == mpbuild.inputs_digest(bits32=True))
