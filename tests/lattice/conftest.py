"""Fixtures for the gateway's lattice tests: real nats-servers and simulated boards."""

from latticekit.fixtures import nats_cluster, nats_leaf, plain_providers
from support.latticefixtures import cluster_env, gateway_env, run_gateway, sim_boards

__all__ = ["cluster_env", "gateway_env", "nats_cluster", "nats_leaf", "plain_providers",
           "run_gateway", "sim_boards"]
