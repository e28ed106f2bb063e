"""Fixtures for the board application tests (helpers in tests/support/)."""

from __future__ import annotations

from typing import Any

import pytest
from support.signing import SignedActor
from support.sims import BoardInThread, SimProcess


@pytest.fixture
def sign(actors):
    """sign(name, caps=..., call_alias=..., subject=...) -> SignedActor for a built actor."""

    def make(name: str, **kwargs: Any) -> SignedActor:
        return SignedActor(actors[name], name, **kwargs)

    return make


@pytest.fixture
def board_thread(tmp_path):
    """board_thread(flash=NAME, **config) starts a simulated board (with the flash folder
    NAME, to boot a board again on what another left); all are stopped after the test."""
    started: list[BoardInThread] = []

    def start(flash: str | None = None, **config: Any) -> BoardInThread:
        board = BoardInThread(tmp_path / (flash or f"flash{len(started)}"), **config)
        started.append(board)
        return board

    yield start
    for board in started:
        board.stop()


@pytest.fixture
def sim_process(tmp_path):
    """sim_process(*args) runs `edgehost sim ARGS`; every one is stopped after the test."""
    started: list[SimProcess] = []

    def start(*args: str) -> SimProcess:
        sim = SimProcess(tmp_path / f"sim{len(started)}.err", *args)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()
