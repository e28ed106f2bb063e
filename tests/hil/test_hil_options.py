"""The suite's options: asked for a real board that is not attached, it skips in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HIL = Path(__file__).parent


def run_pytest(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "EDGEHOST_KEY_FILE"}
    return subprocess.run([sys.executable, "-m", "pytest", str(HIL / "test_hil_scenarios.py"),
                           "-q", "-p", "no:cacheprovider", *args], capture_output=True,
                          text=True, timeout=120, cwd=HIL.parent.parent, env=env)


def test_a_real_board_run_with_no_board_attached_skips_in_one_clear_line(tmp_path):
    done = run_pytest("--board-port", str(tmp_path / "ttyUSB9"), "--board-profile",
                      "esp32-s3-devkitc-n8r8")
    assert done.returncode == 0, done.stdout + done.stderr
    skipped = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert skipped == ["SKIPPED [8] tests/hil/test_hil_scenarios.py: no board on %s "
                       "(--board-port): plug it in, or leave --board-port out to run against "
                       "the simulated board" % (tmp_path / "ttyUSB9")]
    assert done.stdout.splitlines()[-1].startswith("8 skipped in ")


def test_a_real_board_without_its_key_file_is_a_usage_mistake_said_once():
    done = run_pytest("--board-port", "/dev/null", "--board-profile", "esp32-s3-devkitc-n8r8")
    assert done.returncode == 4  # pytest's usage error
    assert done.stderr.strip() == ("ERROR: --board-port needs --board-profile NAME and "
                                   "--board-key-file FILE (from edgehost provision --key-file)")
