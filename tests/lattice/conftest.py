"""Fixtures for the gateway's lattice tests: real nats-servers and simulated boards."""

from __future__ import annotations

import pytest
from lattice_rig import SimBoard

from edgegate.wascap import KeyPair


@pytest.fixture
def sim_boards(tmp_path):
    """Make and start simulated boards by id; all stopped after the test."""
    started: list[SimBoard] = []

    def start(board_id: str) -> SimBoard:
        board = SimBoard(tmp_path / board_id, board_id).start()
        started.append(board)
        return board

    try:
        yield start
    finally:
        for board in started:
            board.stop()


@pytest.fixture
def cluster_env():
    """wasmCloud variables for one shared cluster seed (every gateway of the test trusts it)."""
    seed = KeyPair.generate("cluster")
    return {"WASMCLOUD_CLUSTER_SEED": seed.seed, "WASMCLOUD_LATTICE_PREFIX": "default"}


from latticekit.fixtures import nats_cluster, nats_leaf, plain_providers  # noqa: E402

__all__ = ["nats_cluster", "nats_leaf", "plain_providers"]
