"""`edgehost ctl` as a newcomer meets it: why no host bid, host ids cut short as the tables
show them, call aliases where keys are asked, keys and counts refused before they do harm."""

from __future__ import annotations

import pytest
from lattice_rig import edgehost, signed_actor
from test_ctl_cli import ctl, ok

from edgegate.wascap import KeyPair

pytestmark = pytest.mark.nats


def one_line_error(result) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    return result.stderr


def test_start_actor_says_why_no_host_would_take_it(lab, actors, tmp_path):
    url, env, host_id, _ = lab
    module = tmp_path / "echo.wasm"
    module.write_bytes(signed_actor(actors["echo"], "echo")[0])

    plain = one_line_error(ctl(url, "start", "actor", module, env=env))
    assert f"a path is not a reference; give file://{module}" in plain
    missing = one_line_error(ctl(url, "start", "actor", f"file://{tmp_path}/none.wasm", env=env))
    assert f"there is no file {tmp_path}/none.wasm" in missing
    latest = one_line_error(ctl(url, "start", "actor", "127.0.0.1:1/demo/echo", env=env))
    assert "means the tag latest" in latest and "WASMCLOUD_OCI_ALLOW_LATEST=true" in latest
    attic = one_line_error(ctl(url, "start", "actor", f"file://{module}", "--constraint",
                               "room=attic", env=env))
    assert (f"no host has the labels room=attic; the hosts have {host_id[:12]}…: "
            f"room=lab") in attic
    assert "{" not in attic  # labels as the flags give them, not a Python dict


def test_a_host_id_cut_short_names_its_host_and_an_unknown_one_says_so(lab, actors, tmp_path):
    url, env, host_id, _ = lab
    for short in (host_id[:12], host_id[:12] + "…", host_id[:12].lower()):
        inventory = ctl(url, "get", "inventory", short, env=env)
        assert inventory.returncode == 0, inventory.stderr
        assert f"host {host_id} runs no actors" in inventory.stdout
    unknown = one_line_error(ctl(url, "get", "inventory", "NBADHOST", env=env))
    assert unknown == ("edgehost: host NBADHOST: no host on lattice 'default' has an id that "
                       "starts so (1 answered within 2 s; `edgehost ctl get hosts` lists "
                       "them)\n")
    gone = KeyPair.generate("server").public_key
    stopped = one_line_error(ctl(url, "stop", "actor", gone, "M" + "A" * 55, env=env))
    assert stopped.startswith(f"edgehost: host {gone}: ") and "ctl get hosts" in stopped


def test_stop_and_scale_take_a_call_alias_and_a_board_runs_one_instance(lab, actors, tmp_path):
    url, env, host_id, _ = lab
    module = tmp_path / "echo.wasm"
    data, key = signed_actor(actors["echo"], "echo", call_alias="echo")
    module.write_bytes(data)
    ok(ctl(url, "start", "actor", f"file://{module}", "--host-id", host_id[:10], env=env))

    scaled = one_line_error(ctl(url, "scale", "actor", host_id[:10], "echo", f"file://{module}",
                                "--count", "3", env=env))
    assert "count 3: a board runs one instance of each actor" in scaled
    stopped = ok(ctl(url, "stop", "actor", host_id[:10], "echo", env=env))
    assert stopped == f"actor {key} stopped on host {host_id}\n"
    assert "runs no actors" in ok(ctl(url, "get", "inventory", host_id, env=env))


def test_a_link_to_an_invalid_provider_key_is_refused_and_not_stored(lab):
    url, env, _, _ = lab
    actor = KeyPair.generate("module").public_key
    bad = one_line_error(ctl(url, "link", "put", actor, "VBAD", "wasmcloud:httpserver", env=env))
    assert bad.startswith("edgehost: provider VBAD: not a provider's public key")
    wrong_kind = one_line_error(ctl(url, "link", "put", actor, actor, "wasmcloud:httpserver",
                                    env=env))
    assert "this is the key of a module, not of a provider" in wrong_kind
    assert "no links" in ok(ctl(url, "get", "links", env=env))


def test_a_mistyped_call_alias_gets_the_close_one(lab, actors, tmp_path):
    url, env, host_id, _ = lab
    module = tmp_path / "echo.wasm"
    module.write_bytes(signed_actor(actors["echo"], "echo", call_alias="echo")[0])
    ok(ctl(url, "start", "actor", f"file://{module}", "--host-id", host_id, env=env))
    for caller in (["call", "--nats", url], ["ctl", "call", "--nats", url]):
        got = edgehost(*caller, "ecoh", "Echo", "hi", env=env)
        assert got.returncode == 1 and got.stderr.endswith(
            "(give its public key, M…, or a call alias); did you mean 'echo'?\n"), got.stderr
