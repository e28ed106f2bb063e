"""A pytest run of a user's test files in a temporary folder, as its user would start it.
(Named uniquely: every test folder has a conftest, and module names must not collide.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

RUN_TIMEOUT = 120.0


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EDGEHOST_KEY", "PYTEST"))}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                           *args], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)


def summary(done: subprocess.CompletedProcess) -> str:
    """pytest's last line without its time ("1 passed")."""
    return done.stdout.strip().splitlines()[-1].split(" in ")[0]
