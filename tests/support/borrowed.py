"""Fixtures of another test folder, for a folder that needs them too (e.g. the control tests'
real OCI registry)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

TESTS = Path(__file__).resolve().parent.parent


def control_fixtures() -> ModuleType:
    """The control tests' conftest (its rig needs the lattice tests' folder on the path)."""
    for folder in ("lattice", "control"):
        if str(TESTS / folder) not in sys.path:
            sys.path.insert(0, str(TESTS / folder))
    spec = importlib.util.spec_from_file_location("control_fixtures",
                                                  TESTS / "control" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
