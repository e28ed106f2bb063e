"""`edgehost ctl start provider` / `stop provider` against `edgehost gateway` as a user runs
them, and Ctrl-C at the gateway leaving no provider process behind."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from lattice_rig import GatewayProcess, edgehost, write_registry
from provider_rig import kv_par, provider_pids, write_par

from edgegate.providers.archive import platform_target

pytestmark = pytest.mark.nats


def wait_until(predicate, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g} s")
        time.sleep(0.05)


@pytest.fixture
def gateway(sim_boards, tmp_path, nats_server, gateway_env):
    board = sim_boards("kitchen")
    env = {**gateway_env, "WASMCLOUD_ALLOW_FILE_LOAD": "true"}
    gw = GatewayProcess(write_registry(tmp_path / "boards.json", board.registry_entry()),
                        nats_server.url, env, tmp_path / "gateway.err")
    line = gw.wait_for_line("board kitchen is host N")
    host_id = line.split(" is host ")[1].split()[0]
    try:
        yield gw, host_id, env
    finally:
        gw.stop()


def ctl(nats_url: str, env: dict[str, str], *args: object):
    return edgehost("ctl", *args, "--nats", nats_url, env=env)


def test_start_provider_by_auction_then_ctrl_c_leaves_no_provider(gateway, nats_server,
                                                                  tmp_path):
    gw, host_id, env = gateway
    ref, key = kv_par(tmp_path)
    started = ctl(nats_server.url, env, "start", "provider", ref)
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == f"provider {key} (default) started on host {host_id}"
    [pid] = provider_pids(key)
    shown = ctl(nats_server.url, env, "get", "inventory", host_id, "--json")
    assert key in [p["id"] for p in json.loads(shown.stdout)["providers"]]
    gw.process.send_signal(signal.SIGINT)
    assert gw.process.wait(20) == 130  # Ctrl-C, as the README has it
    assert provider_pids(key) == []
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_stop_provider_shuts_it_down(gateway, nats_server, tmp_path):
    _, host_id, env = gateway
    ref, key = kv_par(tmp_path)
    assert ctl(nats_server.url, env, "start", "provider", ref, "--host-id", host_id
               ).returncode == 0
    stopped = ctl(nats_server.url, env, "stop", "provider", host_id, key)
    assert stopped.returncode == 0, stopped.stderr
    wait_until(lambda: provider_pids(key) == [], "the provider's exit")
    again = ctl(nats_server.url, env, "stop", "provider", host_id, key)
    assert again.returncode == 1 and "does not run on host" in again.stderr


def test_a_provider_that_fails_to_start_is_one_line_with_its_reason(gateway, nats_server,
                                                                    tmp_path):
    _, host_id, env = gateway
    path = tmp_path / "quits.par"
    write_par(path, {platform_target(): b"#!/bin/sh\necho 'no such device' >&2\nexit 4\n"})
    failed = ctl(nats_server.url, env, "start", "provider", f"file://{path}")
    assert failed.returncode == 1
    [line] = failed.stderr.strip().splitlines()
    assert "exited with status 4 at once: no such device" in line
    assert host_id in line
