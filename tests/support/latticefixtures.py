"""The lattice tests' fixtures (simulated boards, gateways, a shared cluster seed) for the
test folders that reuse them: `globals().update(latticefixtures.load())` in a conftest."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

LATTICE_TESTS = Path(__file__).resolve().parents[1] / "lattice"
NAMES = ("sim_boards", "cluster_env", "gateway_env", "run_gateway", "nats_cluster")


def load() -> dict[str, Any]:
    """{fixture name: fixture} of tests/lattice/conftest.py, with its rig importable."""
    if str(LATTICE_TESTS) not in sys.path:
        sys.path.insert(0, str(LATTICE_TESTS))
    spec = importlib.util.spec_from_file_location("lattice_fixtures",
                                                  LATTICE_TESTS / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {name: getattr(module, name) for name in NAMES}
