"""Fixtures for the hardware-in-the-loop scenarios, on edgehost's pytest plugin: the board under
test (`edgehost_board`: simulated unless --board-port is given), signed actors, a raw session on
its link, and a real gateway on a real nats-server."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from hil_rig import BoardUnderTest
from support.latticerig import GatewayProcess
from support.signing import SignedActor

from edgecli import cpbuild
from edgecli.profiles import DEFAULT_PROFILE
from edgegate.wascap import KeyPair


def pytest_generate_tests(metafunc):
    """The simulated board runs each scenario on the board's MicroPython and CircuitPython and on
    the CPython simulator; a real board on the one it runs."""
    if "edgehost_runtime" in metafunc.fixturenames:
        simulated = metafunc.config.getoption("--board-port") is None
        metafunc.parametrize("edgehost_runtime",
                             ["micropython", "circuitpython", "cpython"] if simulated else ["real"])


@pytest.fixture(scope="session")
def board_interpreters(request) -> None:
    """The board's CircuitPython built before a simulator's start-up wait begins."""
    if request.config.getoption("--board-port") is None:
        cpbuild.ensure_built()


@pytest.fixture
def board(request, board_interpreters, edgehost_board, edgehost_runtime) -> BoardUnderTest:
    profile = request.config.getoption("--board-profile") or DEFAULT_PROFILE
    runtime = edgehost_runtime if edgehost_board.simulated else "micropython"
    return BoardUnderTest(edgehost_board, profile, runtime,
                          request.config.getoption("--board-baud"))


@pytest.fixture
async def session(board):
    """A gateway-side session with the board (hello and ready done); closed after."""
    gw = await board.connect()
    yield gw
    await gw.close()


@pytest.fixture
def sign(actors):
    def make(name: str, **kwargs: Any) -> SignedActor:
        return SignedActor(actors[name], name, **kwargs)

    return make


@pytest.fixture
def lattice_env(tmp_path) -> dict[str, str]:
    seed = KeyPair.generate("cluster")
    return {"WASMCLOUD_CLUSTER_SEED": seed.seed, "WASMCLOUD_LATTICE_PREFIX": "default",
            "EDGEHOST_KEYS_DIR": str(tmp_path / "keys")}


@pytest.fixture
def gateway(tmp_path, nats_server, lattice_env):
    """gateway(registry) starts `edgehost gateway` on the test's nats-server."""
    with contextlib.ExitStack() as started:

        def start(registry: Path) -> GatewayProcess:
            gw = GatewayProcess(registry, nats_server.url, lattice_env,
                                tmp_path / "gateway.err")
            started.callback(gw.stop)
            return gw

        yield start
