"""Fixtures for the manifest tests: a real OCI registry (from the control tests' rig)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
# the control tests' registry fixture serves here too (it needs the lattice tests' folder)
sys.path.insert(0, str(TESTS / "lattice"))
sys.path.insert(0, str(TESTS / "control"))
_spec = importlib.util.spec_from_file_location("control_fixtures", TESTS / "control" /
                                               "conftest.py")
_control = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_control)
oci_registry = _control.oci_registry
