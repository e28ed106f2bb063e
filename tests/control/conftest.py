"""Fixtures for the control-interface tests: a real OCI registry, and the lattice fixtures."""

from support.controlrig import oci_registry
from support.latticefixtures import cluster_env, sim_boards

__all__ = ["cluster_env", "oci_registry", "sim_boards"]
