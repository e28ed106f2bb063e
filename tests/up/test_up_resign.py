"""`edgehost up` started again with nothing changed leaves the demo actor as it was: the same
signed module, so the board that kept it on flash is not sent it again."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest
from support.up import EDGEHOST, UpProcess, free_port

pytestmark = pytest.mark.nats


def greeter_digest(lines: list[str], env: dict[str, str]) -> str:
    """The sha256 of the greeter on the board, from the `board … info` that up printed."""
    info = next(line.strip() for line in lines if " board --nats " in line)
    done = subprocess.run([EDGEHOST, *shlex.split(info)[1:], "--json"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    [greeter] = [a for a in json.loads(done.stdout)["actors"] if a["name"] == "greeter"]
    return greeter["sha256"]


def test_a_restart_with_nothing_changed_keeps_the_signed_greeter(up_env):
    digests = []
    for _ in range(2):
        up = UpProcess(up_env, "--nats-port", str(free_port()))
        try:
            digests.append(greeter_digest(up.summary(), up_env))
        finally:
            assert up.interrupt() == 130
    assert digests[0] == digests[1]
    keys = Path(up_env["EDGEHOST_KEYS_DIR"])
    assert sorted(p.name for p in keys.glob("*_account.nk")) == ["default_account.nk"]
