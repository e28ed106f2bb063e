"""Running board code under the board's MicroPython (the unix port with the wasm3 module)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
HEAP = "64M"  # the unix port's default 2 MB is a small board's; the scenarios move megabytes


def run_board_code(binary: Path, code: str, cwd: Path, timeout: float = 60.0) -> list[str]:
    """Run `code` under the board's MicroPython with firmware/, shared/ and this folder on its
    path; returns its output lines. A non-zero exit or a traceback fails the test."""
    script = cwd / "engine_script.py"
    script.write_text(code)
    env = dict(os.environ, MICROPYPATH=":".join(
        [str(ROOT / "firmware"), str(ROOT / "shared"), str(HERE), ".frozen"]))
    done = subprocess.run([str(binary), "-X", "heapsize=" + HEAP, str(script)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=timeout)
    output = done.stdout + done.stderr
    if done.returncode != 0 or "Traceback (most recent call last)" in output:
        pytest.fail(f"board code failed under MicroPython (exit {done.returncode}):\n{output}",
                    pytrace=False)
    return done.stdout.splitlines()
