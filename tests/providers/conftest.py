"""Fixtures for the provider tests: the lattice fixtures, a registry and the in-process command."""

from support.commands import edgehost  # `edgehost ARGS…` run in this process
from support.controlrig import oci_registry  # Debian's docker-registry on a loopback port
from support.latticefixtures import cluster_env, gateway_env, run_gateway, sim_boards

__all__ = ["cluster_env", "edgehost", "gateway_env", "oci_registry", "run_gateway",
           "sim_boards"]
