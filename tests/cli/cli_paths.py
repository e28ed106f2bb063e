"""Constants the command-line tests share (named uniquely: every test folder has a conftest)."""

from __future__ import annotations

import sys
from pathlib import Path

EDGEHOST = str(Path(sys.executable).parent / "edgehost")
ROOT = Path(__file__).resolve().parents[2]
COMMAND_TIMEOUT = 60.0  # a command that takes longer has hung; no test waits on a clock
