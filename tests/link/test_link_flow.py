"""Flow over a slow line: large bodies over a paced pseudo-terminal, slow receivers.

The gateway's writes queue behind the line (as they do in a real UART's driver), so its
acknowledgements reach the board a window's worth of frames late; the board's own receiving
stops for whole moments (a flash erase, a starved process). Neither may end a transfer.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from pathlib import Path

import pytest

from edgelink.link import MIN_FRAME

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "tools" / "bench"
sys.path.insert(0, str(BENCH))

from link_throughput import link_run  # noqa: E402

BAUD = 115200
WINDOW = 8  # the widest window a profile sets (hardware/profiles/)


class SeededPauses:
    """A receiver that stops at random points, for up to a second (seeded: the same each run)."""

    def __init__(self, seed: int, chance: float, longest: float):
        self._random = random.Random(seed)
        self._chance = chance
        self._longest = longest
        self.taken: list[float] = []

    def __call__(self, link) -> None:
        if self._random.random() < self._chance:
            pause = self._random.uniform(0.02, self._longest)
            self.taken.append(pause)
            time.sleep(pause)


def install(size: int, max_frame: int, pause=None) -> dict:
    return asyncio.run(link_run(BAUD, size, 1, max_frame, WINDOW, pause))


@pytest.mark.parametrize("max_frame", [MIN_FRAME, 1024, 4096],
                         ids=["smallest frame", "profiles without PSRAM", "default profile"])
def test_a_large_install_arrives_intact_over_a_paced_pty(max_frame):
    # at 115200 baud a window of 4096-byte frames waits almost 3 s in the queue to the wire
    result = install(48 * 1024, max_frame)
    assert result["reply"]["t"] == "installed" and result["intact"], result["reply"]


def test_a_board_that_stops_at_random_points_slows_the_install_but_does_not_end_it():
    pauses = SeededPauses(seed=21, chance=0.02, longest=1.0)
    result = install(48 * 1024, 1024, pauses)
    assert result["reply"]["t"] == "installed" and result["intact"], result["reply"]
    assert len(pauses.taken) >= 3 and max(pauses.taken) > 0.5  # the board did stop, often


def test_a_gateway_starved_at_random_points_slows_the_install_but_does_not_end_it():
    async def starved() -> tuple[dict, list[float]]:
        chance = random.Random(7)
        taken: list[float] = []

        async def starve() -> None:
            while True:
                await asyncio.sleep(chance.uniform(0.2, 1.0))
                taken.append(chance.uniform(0.1, 1.0))
                time.sleep(taken[-1])  # the whole gateway stands still: reads, writes, timers

        starver = asyncio.create_task(starve())
        try:
            return await link_run(BAUD, 48 * 1024, 1, 1024, WINDOW), taken
        finally:
            starver.cancel()

    result, taken = asyncio.run(starved())
    assert result["reply"]["t"] == "installed" and result["intact"], result["reply"]
    assert len(taken) >= 3 and max(taken) > 0.5


def test_an_install_to_a_board_that_dies_midway_ends_with_a_clear_error():
    # the board dies once it has taken 20 frames (the handshake and hello take a few)
    result = install(48 * 1024, 1024, lambda link: link.records >= 20)
    reply = result["reply"]
    assert reply["t"] == "error" and reply["code"] == "aborted", reply
    assert reply["message"] == "transfer of request %d stalled" % reply["id"]
