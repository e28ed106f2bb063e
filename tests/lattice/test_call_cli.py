"""`edgehost call` invokes actors on boards through the lattice."""

from __future__ import annotations

import json
import re

import pytest
from lattice_rig import edgehost, signed_actor, write_registry

pytestmark = pytest.mark.nats

BUILTINS = ["wasmcloud:builtin:numbergen", "wasmcloud:builtin:logging"]


@pytest.fixture
async def lattice(sim_boards, actors, tmp_path, run_gateway, nats_server, gateway_env):
    board = sim_boards("kitchen")
    greeter, greeter_key = signed_actor(actors["greeter"], "greeter", call_alias="greeter",
                                        caps=BUILTINS)
    echo, echo_key = signed_actor(actors["echo"], "echo", call_alias="echo")
    await board.install(greeter, echo)
    gw = run_gateway(write_registry(tmp_path / "boards.json", board.registry_entry()))
    gw.wait_for_line("board kitchen is host N")

    def call(*argv: object):
        return edgehost("call", "--nats", nats_server.url, *argv, env=gateway_env)

    return call, greeter_key, echo_key


def test_the_greeter_answers_by_call_alias_and_by_key(lattice):
    call, greeter, _ = lattice
    done = call("greeter", "Greet", "Ada")
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"(Hello|Hi|Greetings|Howdy|Good day), Ada!", done.stdout), done.stdout
    done = call(greeter, "Greet")
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith(", world!")


def test_json_goes_as_msgpack_and_comes_back_as_json(lattice):
    call, _, _ = lattice
    done = call("echo", "Echo", '{"n": [1, 2, 3], "s": "x"}', "--msgpack-json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"n": [1, 2, 3], "s": "x"}


def test_an_unknown_alias_or_actor_is_one_line(lattice):
    call, _, _ = lattice
    done = call("nobody", "Greet")
    assert done.returncode == 1
    assert done.stderr == ("edgehost: no actor with call alias 'nobody' on lattice 'default' "
                           "(give its public key, M…, or a call alias)\n")
    missing = "M" + "Q" * 55
    done = call(missing, "Greet")
    assert done.stderr == f"edgehost: no host runs actor {missing} on lattice 'default'\n"


def test_an_operation_the_actor_refuses_is_its_error(lattice):
    call, _, _ = lattice
    done = call("greeter", "Dance")
    assert done.returncode == 1
    assert done.stderr.startswith("edgehost: greeter Dance: ")
    assert len(done.stderr.splitlines()) == 1
