"""Constants the board CLI tests share (named uniquely: every test folder has a conftest)."""

from __future__ import annotations

import sys
from pathlib import Path

EDGEHOST = str(Path(sys.executable).parent / "edgehost")
COMMAND_TIMEOUT = 30.0  # a command that takes longer has hung; no test waits on a clock
