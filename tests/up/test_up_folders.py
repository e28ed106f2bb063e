"""The caller's folder changes nothing that is imported: run from the folder that holds the
clone (named `edgehost`, with its `hardware/`), `up` and a script's Host work as anywhere."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support.up import UpProcess, free_port

pytestmark = pytest.mark.nats

DEV_PY = str(Path(__file__).resolve().parents[2] / "tools" / "dev.py")
SCRIPT = """\
import asyncio
from edgegate.hostapi import Host

async def main():
    async with Host(state_dir="host-state") as host:
        print("host", host.id[0])

asyncio.run(main())
"""


@pytest.fixture
def beside_a_clone(tmp_path) -> Path:
    """A folder that holds a clone named `edgehost`, as after `git clone …/edgehost`."""
    for inside in ("hardware", "firmware", "gateway", "tools"):
        (tmp_path / "edgehost" / inside).mkdir(parents=True)
    return tmp_path


def test_dev_py_up_from_the_folder_that_holds_the_clone_comes_up(up_env, beside_a_clone):
    up = UpProcess(up_env, "--nats-port", str(free_port()), command=(sys.executable, DEV_PY),
                   cwd=beside_a_clone)
    try:
        assert any(line.startswith("board sim (simulated, ") for line in up.summary())
    finally:
        assert up.interrupt() == 130


def test_a_script_in_the_folder_that_holds_the_clone_makes_a_host(beside_a_clone):
    (beside_a_clone / "script.py").write_text(SCRIPT)
    done = subprocess.run([sys.executable, "script.py"], cwd=beside_a_clone,
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (0, "host N\n", "")
