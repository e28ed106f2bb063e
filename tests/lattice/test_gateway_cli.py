"""`edgehost gateway` as a user runs it, and `edgehost board --nats` through it."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time

import pytest
from support.latticerig import EDGEHOST, GatewayProcess, edgehost, signed_actor, write_registry

pytestmark = pytest.mark.nats


def through_a_gateway(sim_boards, run_gateway, tmp_path, nats_url: str) -> list[str]:
    """The `edgehost board` arguments that reach a simulated board `kitchen` through the
    `edgehost gateway` that holds its link."""
    board = sim_boards("kitchen")
    gw = run_gateway(write_registry(tmp_path / "boards.json", board.registry_entry()))
    gw.wait_for_line("board kitchen is host N")
    return ["board", "--nats", nats_url, "--key-file", board.key_file]


async def test_edgehost_board_works_through_the_gateway_that_holds_the_link(
        sim_boards, actors, tmp_path, run_gateway, nats_server, gateway_env):
    via = through_a_gateway(sim_boards, run_gateway, tmp_path, nats_server.url)
    module, key = signed_actor(actors["echo"], "echo", call_alias="greeter")
    (tmp_path / "echo_s.wasm").write_bytes(module)
    # follow the logs while installing and calling: the gateway serves both at once
    follower = subprocess.Popen([EDGEHOST, *map(str, via), "logs"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env={**os.environ,
                                                                        **gateway_env})
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in follower.stdout],
                     daemon=True).start()
    try:
        # it says so once it follows (its subscription is in place by then)
        assert "following the logs of board kitchen" in follower.stderr.readline()
        done = edgehost(*via, "install", tmp_path / "echo_s.wasm", env=gateway_env)
        assert done.returncode == 0, done.stderr
        assert f"installed {key} (echo) on board kitchen" in done.stdout
        done = edgehost(*via, "call", "greeter", "Echo", "hello via gateway", env=gateway_env)
        assert done.returncode == 0, done.stderr
        assert done.stdout == "hello via gateway"
        done = edgehost(*via, "info", "--json", env=gateway_env)
        assert done.returncode == 0, done.stderr
        info = json.loads(done.stdout)
        assert [a["key"] for a in info["actors"]] == [key]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if f"installed actor {key}" in lines.get(timeout=1):
                    break
            except queue.Empty:
                pass
        else:
            raise AssertionError("the log follower never showed the install")
    finally:
        follower.send_signal(signal.SIGINT)
        follower.wait(10)
    done = edgehost(*via, "remove", "greeter", env=gateway_env)
    assert done.returncode == 0, done.stderr


async def test_board_info_through_the_gateway_is_the_board_now_not_at_its_hello(
        sim_boards, actors, tmp_path, run_gateway, nats_server, gateway_env):
    via = through_a_gateway(sim_boards, run_gateway, tmp_path, nats_server.url)
    module, _ = signed_actor(actors["echo"], "echo")
    (tmp_path / "echo_s.wasm").write_bytes(module)
    done = edgehost(*via, "install", tmp_path / "echo_s.wasm", env=gateway_env)
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(edgehost(*via, "info", "--json", env=gateway_env).stdout)
                     for _ in range(2))
    budget = first["budget"]  # what the board said it has left when the actor came
    assert first["free_mem"] == budget["ram_free"] < budget["ram"]
    assert first["free_flash"] == budget["flash_free"] < budget["flash"]
    assert second["uptime_ms"] > first["uptime_ms"]


async def test_a_wrong_pairing_key_gets_no_service_through_the_gateway(
        sim_boards, tmp_path, run_gateway, nats_server, gateway_env):
    board = sim_boards("kitchen")
    gw = run_gateway(write_registry(tmp_path / "boards.json", board.registry_entry()))
    gw.wait_for_line("board kitchen is host N")
    wrong = tmp_path / "wrong.key"
    wrong.write_text(json.dumps({"board_id": "kitchen", "pairing_key": "11" * 32}))
    done = edgehost("board", "--nats", nats_server.url, "--key-file", wrong, "--timeout", "2",
                    "info", env=gateway_env)
    assert done.returncode == 1
    assert done.stderr.strip().startswith("edgehost: no answer to info from the gateway of "
                                          "board 'kitchen' within 2 s")


def test_a_gateway_without_nats_says_so_in_one_line(tmp_path, gateway_env):
    registry = write_registry(tmp_path / "boards.json", {
        "board_id": "kitchen", "pairing_key": "22" * 32, "tcp": "127.0.0.1:9"})
    done = edgehost("gateway", "--boards", registry, "--nats", "nats://127.0.0.1:9",
                    env=gateway_env)
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if "cluster" not in line]
    assert lines == ["edgehost: cannot reach NATS at nats://127.0.0.1:9: nats: no servers "
                     "available for connection; start a nats-server there or give --nats URL"]


@pytest.mark.parametrize(("content", "message"), [
    ("[]", 'expected {"boards": [...]} with at least one board'),
    ('{"boards": [{"board_id": "a", "pairing_key": "zz", "tcp": "127.0.0.1:1"}]}',
     "board 'a': pairing_key must be 64 hex digits (32 bytes), or give key_file"),
    ('{"boards": [{"board_id": "a", "pairing_key": "' + "00" * 32 + '"}]}',
     "board 'a': give exactly one of port (serial), tcp (dial) or listen (boards dial in)"),
    ('{"boards": [{"board_id": "a", "pairing_key": "' + "00" * 32 + '", "tcp": "nowhere"}]}',
     "board 'a': tcp: expected HOST:PORT with a port from 1 to 65535"),
    ("not json", "not JSON"),
])
def test_a_bad_board_registry_is_one_line_naming_the_rule(tmp_path, gateway_env, content,
                                                          message):
    registry = tmp_path / "boards.json"
    registry.write_text(content)
    done = edgehost("gateway", "--boards", registry, env=gateway_env)
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith(f"edgehost: board registry {registry}")
    assert message in done.stderr


def test_a_bad_cluster_seed_is_one_line(tmp_path, gateway_env):
    registry = write_registry(tmp_path / "boards.json", {
        "board_id": "kitchen", "pairing_key": "22" * 32, "tcp": "127.0.0.1:9"})
    done = edgehost("gateway", "--boards", registry,
                    env={**gateway_env, "WASMCLOUD_CLUSTER_SEED": "SAnotaseed"})
    assert done.returncode == 1
    assert done.stderr.startswith("edgehost: WASMCLOUD_CLUSTER_SEED: ")
    assert len(done.stderr.splitlines()) == 1


def test_a_generated_cluster_seed_is_kept_and_said_once(tmp_path, nats_server, gateway_env):
    env = {k: v for k, v in gateway_env.items() if k != "WASMCLOUD_CLUSTER_SEED"}
    registry = write_registry(tmp_path / "boards.json", {
        "board_id": "kitchen", "pairing_key": "22" * 32, "tcp": "127.0.0.1:9"})
    seen = []
    for _ in range(2):
        gw = GatewayProcess(registry, nats_server.url, env, tmp_path / f"g{len(seen)}.err")
        gw.wait_for_line("serving 1 board(s)")
        gw.stop()
        seen.append(gw.err_path.read_text())
    seed_file = tmp_path / "keys" / "cluster.nk"
    assert f"wrote its seed to {seed_file}" in seen[0]
    assert "seed" not in seen[1]
    assert seed_file.read_text().startswith("SC")
    assert oct(seed_file.stat().st_mode & 0o777) == "0o600"
