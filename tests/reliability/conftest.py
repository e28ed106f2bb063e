"""The soaks' drivers of tools/bench/soaks, which the benchmarks there run for longer."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "bench"))
