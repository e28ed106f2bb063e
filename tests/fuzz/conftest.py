"""The fuzz targets and seeds of tools/fuzz, and the lattice fixtures (a real nats-server,
simulated boards, gateway processes) for fuzzing the control interface."""

from __future__ import annotations

import sys
from pathlib import Path

from support import latticefixtures

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "fuzz"))
globals().update(latticefixtures.load())
