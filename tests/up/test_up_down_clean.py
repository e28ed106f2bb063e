"""`edgehost down` stops what runs on up's state folder, `edgehost clean` removes the folder,
and refuses while anything still runs there."""

from __future__ import annotations

import json
import subprocess

import pytest
from support.up import EDGEHOST, UpProcess, free_port

from edgegate.devices.simprocess import SimProcess

pytestmark = pytest.mark.nats


def edgehost(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([EDGEHOST, *argv], env=env, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


def test_clean_waits_for_down_then_removes_the_state_folder(up_env, tmp_path):
    state = tmp_path / "state"
    up = UpProcess(up_env, "--nats-port", str(free_port()))
    try:
        up.summary()
        refused = edgehost("clean", env=up_env)
        assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused
        assert refused.stderr.startswith(f"edgehost: clean {state}: edgehost up still runs "
                                         f"there (")
        assert (state / "flash").is_dir()

        stopped = edgehost("down", "--json", env=up_env)
        assert stopped.returncode == 0, stopped.stderr
        assert up.process.pid in json.loads(stopped.stdout)["stopped"]
        assert up.process.wait(30) == 143  # SIGTERM; up itself stopped everything it started
    finally:
        if up.process.poll() is None:
            up.process.kill()
    cleaned = edgehost("clean", env=up_env)
    assert cleaned.returncode == 0, cleaned.stderr
    assert cleaned.stdout.startswith(f"removed {state} (") and "flash" in cleaned.stdout
    assert not state.exists()


def test_down_stops_a_simulated_board_that_a_killed_up_left(up_env, tmp_path):
    state = tmp_path / "state"
    key = tmp_path / "board.key"
    key.write_text(json.dumps({"board_id": "sim", "pairing_key": "5a" * 32}))
    left = SimProcess(["--tcp", "127.0.0.1:0", "--key-file", str(key), "--flash-dir",
                       str(state / "flash")], tmp_path / "sim.err")
    try:
        stopped = edgehost("down", env=up_env)
        assert stopped.returncode == 0, stopped.stderr
        assert stopped.stdout == (f"stopped the simulated board (pid {left.process.pid}) on "
                                  f"{state}\n")
        assert left.process.wait(30) is not None
        assert edgehost("clean", env=up_env).returncode == 0
    finally:
        left.stop()
