"""The lattice fixtures (a real nats-server, simulated boards, gateway processes) for the
security cases."""

from latticekit.fixtures import nats_cluster
from support.latticefixtures import cluster_env, gateway_env, run_gateway, sim_boards

__all__ = ["cluster_env", "gateway_env", "nats_cluster", "run_gateway", "sim_boards"]
