"""Where `edgehost up` keeps its state and logs, and `down` and `clean` find them."""

from __future__ import annotations

import os
from pathlib import Path


def state_dir(given: str | None = None) -> Path:
    """--state-dir, else $EDGEHOST_STATE_DIR, else $XDG_STATE_HOME/edgehost, else
    ~/.local/state/edgehost."""
    if given:
        return Path(given)
    if os.environ.get("EDGEHOST_STATE_DIR"):
        return Path(os.environ["EDGEHOST_STATE_DIR"])
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "edgehost"
