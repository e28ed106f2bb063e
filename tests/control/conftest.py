"""Fixtures for the control-interface tests: a real OCI registry, the lattice fixtures, and a
gateway serving a board labelled room=lab."""

import json

import pytest
from support.controlrig import oci_registry
from support.latticefixtures import cluster_env, sim_boards
from support.latticerig import GatewayProcess, edgehost, write_registry

__all__ = ["cluster_env", "lab", "oci_registry", "sim_boards"]


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
