"""Fixtures for the gateway's lattice tests: real nats-servers and simulated boards."""

from __future__ import annotations

from pathlib import Path

import pytest
from lattice_rig import GatewayProcess, SimBoard

from edgegate.wascap import KeyPair


@pytest.fixture
def sim_boards(tmp_path):
    """Make and start simulated boards by id; all stopped after the test."""
    started: list[SimBoard] = []

    def start(board_id: str, *sim_args: str) -> SimBoard:
        board = SimBoard(tmp_path / board_id, board_id, *sim_args).start()
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


@pytest.fixture
def gateway_env(tmp_path, cluster_env):
    return {**cluster_env, "EDGEHOST_KEYS_DIR": str(tmp_path / "keys")}


@pytest.fixture
def run_gateway(tmp_path, nats_server, gateway_env):
    started: list[GatewayProcess] = []

    def start(registry: Path) -> GatewayProcess:
        gw = GatewayProcess(registry, nats_server.url, gateway_env,
                            tmp_path / f"gateway{len(started)}.err")
        started.append(gw)
        return gw

    try:
        yield start
    finally:
        for gw in started:
            gw.stop()


from latticekit.fixtures import nats_cluster, nats_leaf, plain_providers  # noqa: E402

__all__ = ["nats_cluster", "nats_leaf", "plain_providers"]
