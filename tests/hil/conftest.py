"""Fixtures for the hardware-in-the-loop scenarios: the board under test (simulated unless
--board-port is given), signed actors, and a real gateway on a real nats-server."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import hil_rig
import pytest
from hil_rig import BoardUnderTest, RealBoard, SimulatedBoard, board_missing
from support.commands import EDGEHOST
from support.signing import SignedActor

from edgecli import cpbuild, mpbuild
from edgecli.profiles import DEFAULT_PROFILE
from edgegate.wascap import KeyPair


def pytest_configure(config):
    """With --board-port: no board there skips the scenarios (one line, hil_rig.NO_BOARD);
    a board without its profile or key file is a usage mistake, said once."""
    port = config.getoption("--board-port")
    if port is None:
        return
    hil_rig.NO_BOARD = board_missing(port)
    key_file = config.getoption("--board-key-file") or os.environ.get("EDGEHOST_KEY_FILE")
    if hil_rig.NO_BOARD is None and not (config.getoption("--board-profile") and key_file):
        raise pytest.UsageError("--board-port needs --board-profile NAME and --board-key-file "
                                "FILE (from edgehost provision --key-file)")


def pytest_generate_tests(metafunc):
    """The simulated board runs each scenario on the board's MicroPython and CircuitPython; a
    real board on the one it runs."""
    if "board_runtime" in metafunc.fixturenames:
        simulated = metafunc.config.getoption("--board-port") is None
        metafunc.parametrize("board_runtime",
                             ["micropython", "circuitpython"] if simulated else ["real"])


@pytest.fixture
def board(request, tmp_path, board_runtime) -> BoardUnderTest:
    """The board under test, stopped (the simulated one) after the test."""
    port = request.config.getoption("--board-port")
    profile = request.config.getoption("--board-profile")
    if port is None:
        if board_runtime == "circuitpython":
            cpbuild.ensure_built()  # before the simulator's start-up wait begins
        else:
            mpbuild.board_build()
        under_test: BoardUnderTest = SimulatedBoard(tmp_path / "sim", profile or DEFAULT_PROFILE,
                                                    board_runtime)
    else:
        if hil_rig.NO_BOARD:
            pytest.skip(hil_rig.NO_BOARD)
        key_file = request.config.getoption("--board-key-file") or os.environ[
            "EDGEHOST_KEY_FILE"]
        under_test = RealBoard(port, request.config.getoption("--board-baud"), Path(key_file),
                               str(profile))
    yield under_test
    under_test.stop()


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


class GatewayProcess:
    """`edgehost gateway` serving the board on a lattice; its stderr kept in a file."""

    def __init__(self, registry: Path, nats_url: str, env: dict[str, str], err: Path):
        self.err = err
        self.process = subprocess.Popen([EDGEHOST, "gateway", "--boards", str(registry),
                                         "--nats", nats_url], stdout=subprocess.DEVNULL,
                                        stderr=err.open("wb"), stdin=subprocess.DEVNULL,
                                        env={**os.environ, **env})

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            for line in self.err.read_text(errors="replace").splitlines():
                if text in line:
                    return line
            time.sleep(0.05)
        raise AssertionError("the gateway never said %r: %s" % (text, self.err.read_text()))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


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
