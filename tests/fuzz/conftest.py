"""The fuzz targets and seeds of tools/fuzz, and the lattice fixtures (a real nats-server,
simulated boards, gateway processes) for fuzzing the control interface."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "fuzz"))

from latticekit.fixtures import nats_cluster
from support.latticefixtures import cluster_env, gateway_env, run_gateway, sim_boards

__all__ = ["cluster_env", "gateway_env", "nats_cluster", "run_gateway", "sim_boards"]
