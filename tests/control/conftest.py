"""Fixtures for the control-interface tests: a real OCI registry, and the lattice fixtures."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

LATTICE_TESTS = Path(__file__).resolve().parent.parent / "lattice"
# the lattice tests' rig and fixtures (simulated boards, a shared cluster seed) serve here too
sys.path.insert(0, str(LATTICE_TESTS))
_spec = importlib.util.spec_from_file_location("lattice_fixtures", LATTICE_TESTS / "conftest.py")
_lattice = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_lattice)
sim_boards = _lattice.sim_boards
cluster_env = _lattice.cluster_env

from control_rig import OciRegistry  # noqa: E402 - needs the path above
from lattice_rig import GatewayProcess, edgehost, write_registry  # noqa: E402 - needs the path above


@pytest.fixture
def lab(nats_server, sim_boards, cluster_env, tmp_path):
    """A gateway process serving one simulated board labelled room=lab, which loads file://
    actors: the lattice's URL, the variables for the command, the host's id and the board."""
    env = {**cluster_env, "EDGEHOST_KEYS_DIR": str(tmp_path / "keys"),
           "WASMCLOUD_ALLOW_FILE_LOAD": "true"}
    board = sim_boards("lab")
    boards = write_registry(tmp_path / "boards.json", board.registry_entry(labels={"room": "lab"}))
    gateway = GatewayProcess(boards, nats_server.url, env, tmp_path / "gateway.err")
    try:
        gateway.wait_for_line("board lab is host")
        hosts = edgehost("ctl", "get", "hosts", "--json", "--nats", nats_server.url, env=env)
        [host] = json.loads(hosts.stdout)
        yield nats_server.url, env, host["id"], board
    finally:
        gateway.stop()


@pytest.fixture
def oci_registry(tmp_path):
    """Start Debian's docker-registry: `oci_registry()` open, `oci_registry(user, password)`
    with basic auth, `oci_registry(user, password, tokens=True)` with token auth; each on its
    own loopback port and storage; stopped afterwards."""
    started: list[OciRegistry] = []

    def start(user: str | None = None, password: str | None = None,
              tokens: bool = False) -> OciRegistry:
        registry = OciRegistry(tmp_path / f"registry{len(started)}", user, password,
                               tokens).start()
        started.append(registry)
        return registry

    try:
        yield start
    finally:
        for registry in started:
            registry.stop()
