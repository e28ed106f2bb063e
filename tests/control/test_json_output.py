"""`--json` means one thing on every command: one JSON document on stdout, nothing else."""

from __future__ import annotations

import json

import pytest
from lattice_rig import edgehost, signed_actor
from test_ctl_cli import ctl, ok

from edgegate.wascap import KeyPair

pytestmark = pytest.mark.nats


def document(result) -> dict:
    """The one JSON document a command printed; it fails on anything more or less."""
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def echo_on_lab(lab, actors, tmp_path):
    """The lab lattice with echo (call alias echo) started on its board."""
    url, env, host_id, board = lab
    module = tmp_path / "echo.wasm"
    data, key = signed_actor(actors["echo"], "echo", call_alias="echo")
    module.write_bytes(data)
    ok(ctl(url, "start", "actor", f"file://{module}", "--host-id", host_id, env=env))
    return url, env, host_id, board, key


def test_every_call_command_prints_one_json_document(echo_on_lab):
    url, env, _, board, _ = echo_on_lab
    through_board = ["board", "--nats", url, "--key-file", board.key_file]
    callers = {"call": ["call", "--nats", url], "ctl call": ["ctl", "call", "--nats", url],
               "board call": [*through_board, "call"]}
    for name, caller in callers.items():
        text = document(edgehost(*caller, "echo", "Echo", "hello", "--json", env=env))
        assert text == {"actor": "echo", "operation": "Echo", "answer": "hello"}, name
        packed = document(edgehost(*caller, "echo", "Echo", '{"n": [1, 2]}', "--msgpack-json",
                                   "--json", env=env))
        assert packed["answer"] == {"n": [1, 2]}, name


def test_call_takes_its_json_payload_as_msgpack_json_as_its_error_names_it(echo_on_lab):
    url, env, _, _, _ = echo_on_lab
    shown = edgehost("call", "--nats", url, "echo", "Echo", '{"n": [1, 2]}', "--msgpack-json",
                     env=env)
    assert shown.returncode == 0 and json.loads(shown.stdout) == {"n": [1, 2]}, shown.stderr
    # --json is the printed document, as everywhere: the payload goes as the text it is
    assert document(edgehost("call", "--nats", url, "echo", "Echo", "[1]", "--json",
                             env=env))["answer"] == "[1]"


def test_board_ping_through_a_gateway_gives_the_whole_host_id(lab):
    url, env, host_id, board = lab
    ping = document(edgehost("board", "--nats", url, "--key-file", board.key_file, "ping",
                             "--json", env=env))
    assert ping["host_id"] == host_id and ping["board"] == "lab"


def test_push_reports_in_json(oci_registry, actors, tmp_path):
    registry = oci_registry()
    module = tmp_path / "echo.wasm"
    data, key = signed_actor(actors["echo"], "echo")
    module.write_bytes(data)
    ref = f"{registry.host}/demo/echo:0.1.0"
    pushed = document(edgehost("push", ref, module, "--insecure", "--json", env={}))
    assert (pushed["actor"], pushed["ref"], pushed["bytes"]) == (key, ref, len(data))
    assert pushed["digest"].startswith("sha256:")


def test_ctl_commands_that_change_the_lattice_report_in_json(echo_on_lab):
    url, env, host_id, _, key = echo_on_lab
    provider = KeyPair.generate("provider").public_key
    put = document(ctl(url, "link", "put", "echo", provider, "wasmcloud:httpserver", "PORT=80",
                       "--json", env=env))
    assert (put["result"], put["actor_id"], put["values"]) == ("put", key, {"PORT": "80"})
    deleted = document(ctl(url, "link", "del", key, "wasmcloud:httpserver", "--json", env=env))
    assert deleted["result"] == "deleted"
    stopped = document(ctl(url, "stop", "actor", host_id[:8], "echo", "--json", env=env))
    assert stopped == {"result": "stopped", "actor": key, "host_id": host_id}
