"""The lattice fixtures (simulated boards, a shared cluster seed, gateway processes), for every
test folder that needs them: a conftest imports the ones it uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgegate.wascap import KeyPair
from support.latticerig import GatewayProcess, SimBoard


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
