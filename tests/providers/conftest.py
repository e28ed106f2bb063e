"""Fixtures for the provider tests: the lattice tests' rig (simulated boards, a cluster seed)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
for folder in ("lattice", "control"):
    sys.path.insert(0, str(TESTS / folder))
_spec = importlib.util.spec_from_file_location("lattice_fixtures_for_providers",
                                               TESTS / "lattice" / "conftest.py")
_lattice = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_lattice)
sim_boards = _lattice.sim_boards
cluster_env = _lattice.cluster_env

_claims = importlib.util.spec_from_file_location("claims_fixtures_for_providers",
                                                 TESTS / "claims" / "conftest.py")
_claims_fixtures = importlib.util.module_from_spec(_claims)
_claims.loader.exec_module(_claims_fixtures)
edgehost = _claims_fixtures.edgehost  # `edgehost ARGS…` run in this process
run_gateway = _lattice.run_gateway  # `edgehost gateway` in its own process
gateway_env = _lattice.gateway_env

_control = importlib.util.spec_from_file_location("control_fixtures_for_providers",
                                                  TESTS / "control" / "conftest.py")
_control_fixtures = importlib.util.module_from_spec(_control)
_control.loader.exec_module(_control_fixtures)
oci_registry = _control_fixtures.oci_registry  # Debian's docker-registry on a loopback port
