"""A pytest run of a user's test files in a folder of their own, as its user would start it
(the edgehost plugin loaded through its entry point)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

RUN_TIMEOUT = 120.0


def run_pytest(folder: Path, *args: str, python: str = sys.executable,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python -m pytest -q -rs ARGS` in `folder`, with no key file of the caller's; its
    temporary folders beside `folder`, not among other runs' (pytest tidies those it finds)."""
    env = {k: v for k, v in (os.environ if env is None else env).items()
           if not k.startswith(("EDGEHOST_KEY", "PYTEST"))}
    basetemp = folder.parent / (folder.name + "-pytest")
    return subprocess.run([python, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                           "--basetemp", str(basetemp), *args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT,
                          stdin=subprocess.DEVNULL)


def summary(done: subprocess.CompletedProcess) -> str:
    """pytest's last line without its time ("1 passed")."""
    return done.stdout.strip().splitlines()[-1].split(" in ")[0]
