"""The fuzz targets and seeds of tools/fuzz, and the lattice fixtures (a real nats-server,
simulated boards, gateway processes) for fuzzing the control interface."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS.parent / "tools" / "fuzz"))
sys.path.insert(0, str(TESTS / "lattice"))
_spec = importlib.util.spec_from_file_location("lattice_fixtures",
                                               TESTS / "lattice" / "conftest.py")
_lattice = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_lattice)
sim_boards = _lattice.sim_boards
cluster_env = _lattice.cluster_env
gateway_env = _lattice.gateway_env
run_gateway = _lattice.run_gateway
