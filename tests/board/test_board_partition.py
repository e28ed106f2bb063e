"""A board on an ESP32 whose modules partition is not the size its profile's module region asks
for (a partition table made for another profile): it uses the smaller of the two.

The ESP32 is the one part that cannot be here: its esp32.Partition and the wasm3 module's
map_partition are stood in for by a flash partition in a bytearray."""

from __future__ import annotations

import sys
import types

import pytest
import wasm3

from edgecli.profiles import PROFILES_DIR
from edgehost import port
from edgehost.board import Board
from edgehost.config import BoardConfig
from edgemodule.region import DATA_START, PARTITION, SECTOR

PROFILE = "esp32-devkitc"  # limits.module_flash_bytes 1 MiB: a region of 1 MiB and its index
PROFILE_FLASH = 1 << 20


class Partition:
    """MicroPython's esp32.Partition over `size` bytes of erased flash."""

    TYPE_DATA = 1
    found: list[Partition] = []

    def __init__(self, size: int):
        self.flash = bytearray(b"\xff" * size)
        self.mapped_bytes: int | None = None

    @classmethod
    def find(cls, kind, label=None):
        return [p for p in cls.found if kind == cls.TYPE_DATA and label == PARTITION]

    def readblocks(self, block, buf, offset=0):
        at = block * SECTOR + offset
        buf[:] = self.flash[at:at + len(buf)]

    def writeblocks(self, block, buf, offset=0):
        at = block * SECTOR + offset
        self.flash[at:at + len(buf)] = bytes(
            a & b for a, b in zip(self.flash[at:at + len(buf)], buf, strict=True))

    def ioctl(self, op, arg):
        if op == 4:
            return len(self.flash) // SECTOR
        if op == 5:
            return SECTOR
        if op == 6:
            self.flash[arg * SECTOR:(arg + 1) * SECTOR] = b"\xff" * SECTOR
        return 0

    def map(self, label, offset, length, size=None):
        """wasm3.map_partition: the first `size` bytes mapped once, spans of them after."""
        if self.mapped_bytes is None:
            self.mapped_bytes = len(self.flash) if size is None else min(size, len(self.flash))
        assert offset + length <= self.mapped_bytes
        return bytes(self.flash[offset:offset + length])


@pytest.fixture
def esp32_board(monkeypatch, tmp_path):
    """esp32_board(partition_bytes): (a Board on a stood-in ESP32, its partition, its console)."""

    def start(partition_bytes: int):
        partition = Partition(partition_bytes)
        monkeypatch.setattr(Partition, "found", [partition])
        monkeypatch.setitem(sys.modules, "esp32", types.SimpleNamespace(Partition=Partition))
        monkeypatch.setattr(port, "sys", types.SimpleNamespace(platform="esp32"))
        monkeypatch.setattr(wasm3, "map_partition", partition.map, raising=False)
        config = BoardConfig({"board_id": "b1", "pairing_key": "00" * 32, "profile": PROFILE,
                              "transport": {"kind": "tcp-listen", "port": 1}}, "config",
                             str(PROFILES_DIR))
        console: list[str] = []
        board = Board(config, str(tmp_path), lambda: None, console=console.append)
        return board, partition, console

    return start


def test_a_partition_smaller_than_the_profiles_region_is_the_flash_the_board_offers(
        esp32_board):
    board, _, console = esp32_board(DATA_START + 256 * 1024)
    assert board.budget().report()["flash"] == 256 * 1024
    assert board.free_figures()[1] == 256 * 1024
    assert console == ["[warn] the modules partition holds 256 KiB for modules, less than the "
                       "1024 KiB of the profile's limits.module_flash_bytes; the board offers "
                       "what it holds"]


def test_a_partition_larger_than_the_profiles_region_is_used_and_mapped_only_that_far(
        esp32_board):
    board, partition, console = esp32_board(4 << 20)
    assert board.store.region.capacity() == PROFILE_FLASH
    assert board.budget().report()["flash"] == PROFILE_FLASH
    assert partition.mapped_bytes == DATA_START + PROFILE_FLASH
    assert console == []
