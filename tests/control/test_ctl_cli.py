"""The whole loop with the edgehost command alone: push an actor to a registry, start it on a
simulated board through the lattice, see it, call it, update it, stop it."""

from __future__ import annotations

import json
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from control_rig import OciRegistry
from lattice_rig import signed_actor, write_registry
from test_gateway_cli import GatewayProcess, edgehost

from edgegate.wascap import ActorMetadata, KeyPair, sign_module

pytestmark = pytest.mark.nats


@dataclass
class Loop:
    nats_url: str
    registry: OciRegistry  # open
    guarded: OciRegistry  # basic auth: edge / s3cret
    env: dict[str, str]


@contextmanager
def lab_gateway(nats_url: str, sim_boards, env: dict[str, str], tmp_path: Path):
    """A gateway process serving one simulated board labelled room=lab."""
    board = sim_boards("lab")
    boards = write_registry(tmp_path / "boards.json", board.registry_entry(labels={"room": "lab"}))
    gateway = GatewayProcess(boards, nats_url, env, tmp_path / "gateway.err")
    try:
        gateway.wait_for_line("board lab is host")
        yield
    finally:
        gateway.stop()


@pytest.fixture
def lattice_env(nats_server, sim_boards, oci_registry, cluster_env, tmp_path):
    """A gateway process serving one simulated board, a registry, and the variables for both."""
    registry, guarded = oci_registry(), oci_registry("edge", "s3cret")
    env = {**cluster_env, "WASMCLOUD_OCI_ALLOWED_INSECURE": f"{registry.host},{guarded.host}",
           "EDGEHOST_KEYS_DIR": str(tmp_path / "keys")}
    with lab_gateway(nats_server.url, sim_boards, env, tmp_path):
        yield Loop(nats_server.url, registry, guarded, env)


def ctl(nats_url: str, *argv: object, env: dict[str, str]):
    return edgehost("ctl", *argv, "--nats", nats_url, env=env)


def wait_until(check, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g} s")
        time.sleep(0.2)


def ok(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_push_start_inventory_call_update_stop(lattice_env, actors, tmp_path):
    nats_url, registry, env = lattice_env.nats_url, lattice_env.registry, lattice_env.env
    subject, issuer = KeyPair.generate("module"), KeyPair.generate("account")
    v1, v2 = tmp_path / "echo1.wasm", tmp_path / "echo2.wasm"
    v1.write_bytes(sign_module(actors["echo"], issuer, subject, ActorMetadata("echo", rev=1)))
    v2.write_bytes(sign_module(actors["shout"], issuer, subject, ActorMetadata("echo", rev=2)))
    key = subject.public_key
    ref1, ref2 = f"{registry.host}/demo/echo:0.1.0", f"{registry.host}/demo/echo:0.2.0"
    assert key in ok(edgehost("push", ref1, v1, "--insecure", env=env))
    ok(edgehost("push", ref2, v2, "--insecure", env=env))

    hosts = json.loads(ok(ctl(nats_url, "get", "hosts", "--json", env=env)))
    [host] = hosts
    host_id = host["id"]
    table = ok(ctl(nats_url, "get", "hosts", env=env))
    assert host_id in table and "room=lab" in table

    started = ok(ctl(nats_url, "start", "actor", ref1, "--constraint", "room=lab", env=env))
    assert f"actor {key} started on host {host_id}" in started
    inventory = ok(ctl(nats_url, "get", "inventory", host_id, env=env))
    assert re.search(rf"{key}\s+echo\s+{re.escape(ref1)}\s+1", inventory), inventory

    answer = ok(ctl(nats_url, "call", key, "Echo", "hello board", env=env))
    assert answer == "hello board"
    answer = ok(ctl(nats_url, "call", key, "Echo", '{"a": [1, 2]}', "--msgpack-json", env=env))
    assert json.loads(answer) == {"a": [1, 2]}  # sent as msgpack, echoed, shown as JSON

    ok(ctl(nats_url, "update", "actor", host_id, key, ref2, env=env))
    assert ok(ctl(nats_url, "call", key, "Echo", "hello board", env=env)) != "hello board"
    inv = json.loads(ok(ctl(nats_url, "get", "inventory", host_id, "--json", env=env)))
    assert [(a["image_ref"], a["instances"][0]["revision"]) for a in inv["actors"]] == [
        (ref2, 2)]
    claims = ok(ctl(nats_url, "get", "claims", env=env))
    assert key in claims

    ok(ctl(nats_url, "scale", "actor", host_id, key, ref2, "--count", "0", env=env))
    wait_until(lambda: "runs no actors" in ok(ctl(nats_url, "get", "inventory", host_id,
                                                 env=env)), "scaled to 0")
    ok(ctl(nats_url, "scale", "actor", host_id, key, ref2, "--count", "1", env=env))
    wait_until(lambda: key in ok(ctl(nats_url, "get", "inventory", host_id, env=env)),
               "scaled back to 1")

    ok(ctl(nats_url, "stop", "actor", host_id, key, env=env))
    assert "runs no actors" in ok(ctl(nats_url, "get", "inventory", host_id, env=env))
    called = ctl(nats_url, "call", key, "Echo", "x", env=env)
    assert called.returncode == 1 and "no host runs actor" in called.stderr


def test_a_registry_with_auth_through_push_and_registry_put(lattice_env, actors, tmp_path):
    nats_url, guarded, env = lattice_env.nats_url, lattice_env.guarded, lattice_env.env
    module, key = signed_actor(actors["echo"], "echo")
    path = tmp_path / "echo.wasm"
    path.write_bytes(module)
    ref = f"{guarded.host}/demo/echo:1.0.0"
    refused = edgehost("push", ref, path, env=env)
    assert refused.returncode == 1 and "asks for a user name and password" in refused.stderr
    ok(edgehost("push", ref, path, "--user", "edge", "--password", "s3cret", env=env))
    host_id = json.loads(ok(ctl(nats_url, "get", "hosts", "--json", env=env)))[0]["id"]
    failed = ctl(nats_url, "start", "actor", ref, "--host-id", host_id, env=env)
    assert failed.returncode == 1 and "registries.put" in failed.stderr
    ok(ctl(nats_url, "registry", "put", guarded.host, "--user", "edge", "--password", "s3cret",
           env=env))
    started = ok(ctl(nats_url, "start", "actor", ref, "--host-id", host_id, env=env))
    assert f"actor {key} started" in started
    nothing = ctl(nats_url, "registry", "put", guarded.host, env=env)
    assert nothing.returncode == 1 and "give --user and --password" in nothing.stderr


def test_links_put_listed_and_deleted(lattice_env):
    nats_url, env = lattice_env.nats_url, lattice_env.env
    actor = KeyPair.generate("module").public_key
    provider = KeyPair.generate("provider").public_key
    ok(ctl(nats_url, "link", "put", actor, provider, "wasmcloud:httpserver", "PORT=8080",
                env=env))
    links = json.loads(ok(ctl(nats_url, "link", "query", "--json", env=env)))
    assert [(ld["actor_id"], ld["values"]) for ld in links] == [(actor, {"PORT": "8080"})]
    assert "wasmcloud:httpserver" in ok(ctl(nats_url, "get", "links", env=env))
    ok(ctl(nats_url, "link", "del", actor, "wasmcloud:httpserver", env=env))
    assert "no links" in ok(ctl(nats_url, "get", "links", env=env))
    again = ctl(nats_url, "link", "del", actor, "wasmcloud:httpserver", env=env)
    assert again.returncode == 1 and "no link of actor" in again.stderr


def test_ctl_errors_are_one_line(lattice_env, actors, tmp_path):
    nats_url, registry, env = lattice_env.nats_url, lattice_env.registry, lattice_env.env
    unsigned = tmp_path / "raw.wasm"
    unsigned.write_bytes(actors["echo"])
    pushed = edgehost("push", f"{registry.host}/demo/raw:1.0.0", unsigned, "--insecure",
                      env=env)
    assert pushed.returncode == 1 and "claims fail" in pushed.stderr
    bad_ref = edgehost("push", "echo:1", unsigned, env=env)
    assert bad_ref.returncode == 1 and "must begin with a registry host" in bad_ref.stderr
    nowhere = ctl(nats_url, "start", "actor", f"{registry.host}/demo/none:1.0.0",
                       "--constraint", "room=attic", env=env)
    assert nowhere.returncode == 1 and "no host bid" in nowhere.stderr
    missing = ctl(nats_url, "start", "actor", f"{registry.host}/demo/none:1.0.0",
                       "--host-id", json.loads(ok(ctl(nats_url, "get", "hosts", "--json",
                                                           env=env)))[0]["id"], env=env)
    assert missing.returncode == 1 and "no such manifest" in missing.stderr
    no_seed = {k: v for k, v in env.items() if k != "WASMCLOUD_CLUSTER_SEED"}
    called = ctl(nats_url, "call", "M" + "A" * 55, "Echo", "x", env=no_seed)
    assert called.returncode == 1 and "no cluster seed" in called.stderr
    unknown = ctl(nats_url, "get", "inventory", "N" + "X" * 55, "--timeout", "0.5", env=env)
    assert unknown.returncode == 1 and "has an id that starts so" in unknown.stderr
    for result in (pushed, bad_ref, nowhere, missing, called, unknown):
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr


def test_a_lattice_without_hosts_says_so(nats_server, tmp_path):
    env = {"EDGEHOST_KEYS_DIR": str(tmp_path / "keys")}
    result = ctl(nats_server.url, "get", "hosts", "--timeout", "0.5", env=env)
    assert result.returncode == 0 and "no hosts answered on lattice 'default'" in result.stdout
    assert not (tmp_path / "keys").exists()  # a client makes no cluster seed of its own




def test_the_connection_options_may_come_before_the_action(nats_server, sim_boards, cluster_env,
                                                           tmp_path):
    url, env = nats_server.url, {**cluster_env, "EDGEHOST_KEYS_DIR": str(tmp_path / "keys")}
    with lab_gateway(url, sim_boards, env, tmp_path):
        hosts = ok(edgehost("ctl", "--nats", url, "--lattice", "default", "--timeout", "3",
                            "--json", "get", "hosts", env=env))
        other = ok(edgehost("ctl", "--nats", url, "--lattice", "elsewhere", "--timeout", "0.5",
                            "get", "hosts", env=env))
        # given on both sides of the action, the later one counts, as any repeated option
        later = ok(edgehost("ctl", "--lattice", "elsewhere", "get", "hosts", "--lattice",
                            "default", "--nats", url, "--json", env=env))
    [host] = json.loads(hosts)
    assert host["labels"]["room"] == "lab"
    assert "no hosts answered on lattice 'elsewhere'" in other
    assert [h["id"] for h in json.loads(later)] == [host["id"]]
