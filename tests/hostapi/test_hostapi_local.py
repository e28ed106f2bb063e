"""The host API without a lattice: the board's own dispatch serves calls, and what needs a
lattice fails clearly."""

from __future__ import annotations

import json
import re

import pytest
from hostapi_rig import GREETER_CAPS, signed

from edgegate import Host
from edgegate.hostapi import (
    ActorError,
    BoardUnreachable,
    CallFailed,
    HostError,
    HostNotStarted,
    LatticeRequired,
)
from edgegate.wascap import KeyPair

GREETING = r"(Hello|Hi|Greetings|Howdy|Good day)"


async def test_actors_call_each_other_on_the_board_and_the_lattice_is_missed_clearly(
        actors, tmp_path):
    relay = signed(actors["relay"], "relay", call_alias="relay")
    greeter = signed(actors["greeter"], "greeter", call_alias="greeter", caps=GREETER_CAPS)
    async with Host(state_dir=tmp_path / "board") as host:
        assert not host.on_lattice and host.id.startswith("N")
        await host.start_actor(relay)
        with pytest.raises(CallFailed) as missed:
            await host.call_actor("relay", "Greet", b"Ada")
        assert "the actor with call alias greeter did not answer" in str(missed.value)
        assert "no lattice connected" in str(missed.value)
        await host.start_actor(greeter)
        answer = await host.call_actor("relay", "Greet", b"Ada")
        assert re.fullmatch(f"relayed: {GREETING}, Ada!", answer.decode())


async def test_what_needs_a_lattice_says_so(actors, tmp_path):
    async with Host(state_dir=tmp_path / "board") as host:
        for attempt in (host.set_link("M" + "A" * 55, "wasmcloud:x", "V" + "A" * 55),
                        host.remove_link("M" + "A" * 55, "wasmcloud:x"),
                        host.start_provider("r.example.com/p:1"),
                        host.links()):
            with pytest.raises(LatticeRequired, match="this host has no lattice; give it a "
                                                      "nats_url"):
                await attempt
        outcomes = await host.apply_manifest({
            "capabilities": [{"image_ref": "r.example.com/p:1"}],
            "links": [{"actor": KeyPair.generate("module").public_key, "contract_id": "x:y",
                       "provider_id": KeyPair.generate("provider").public_key}]})
        assert [(o.status, o.detail.split(":")[0]) for o in outcomes] == [
            ("failed", "start_provider"), ("failed", "links")]


async def test_a_board_keeps_its_actors_and_the_next_host_reads_their_claims(actors, tmp_path):
    echo_key = KeyPair.generate("module")
    module = tmp_path / "echo_s.wasm"
    module.write_bytes(signed(actors["echo"], "echo", echo_key, rev=1))
    async with Host(state_dir=tmp_path / "board", labels={"room": "lab"}) as host:
        assert await host.start_actor(module) == echo_key.public_key
        assert await host.oci_refs() == {module.resolve().as_uri(): echo_key.public_key}
        assert (await host.labels())["room"] == "lab"
        first_id = host.id
    async with Host(state_dir=tmp_path / "board") as host:
        assert host.id != first_id  # a host key is made afresh each start
        assert await host.actors() == [echo_key.public_key]
        assert (await host.claims())[echo_key.public_key]["wascap"]["rev"] == 1
        outcomes = await host.apply_manifest({"actors": [str(module)]})
        assert [(o.status, o.detail) for o in outcomes] == [("already there",
                                                             echo_key.public_key)]
        await host.update_actor(echo_key.public_key,
                                signed(actors["echo"], "echo", echo_key, rev=2))
        assert (await host.claims())[echo_key.public_key]["wascap"]["rev"] == 2
        assert await host.call_actor("echo", "Echo", b"still") == b"still"
        await host.stop_actor("echo")
        assert await host.actors() == []
        with pytest.raises(ActorError, match="is not running"):
            await host.stop_actor("echo")


async def test_a_real_board_by_tcp_with_its_key_file(actors, tmp_path):
    from support.sims import SimProcess

    key_file = tmp_path / "board.key"
    key_file.write_text(json.dumps({"board_id": "bench", "pairing_key": "ab" * 32}))
    sim = SimProcess(tmp_path / "sim.err", "--tcp", "127.0.0.1:0", "--key-file", str(key_file),
                     "--flash-dir", str(tmp_path / "flash"))
    try:
        async with Host(tcp=sim.where.removeprefix("tcp://"), key_file=key_file) as host:
            assert host.board_id == "bench"
            key = await host.start_actor(signed(actors["echo"], "echo"))
            assert await host.call_actor(key, "Echo", b"over tcp") == b"over tcp"
        wrong = tmp_path / "wrong.key"
        wrong.write_text(json.dumps({"board_id": "bench", "pairing_key": "cd" * 32}))
        with pytest.raises(BoardUnreachable):
            await Host(tcp=sim.where.removeprefix("tcp://"), key_file=wrong, timeout=3).start()
    finally:
        sim.stop()


async def test_mistakes_in_using_the_host_are_one_line_errors(tmp_path):
    with pytest.raises(HostError, match="a real board needs key_file"):
        await Host(tcp="127.0.0.1:1").start()
    with pytest.raises(HostError, match="not both"):
        await Host(tcp="127.0.0.1:1", port="/dev/null", key_file=tmp_path / "k").start()
    with pytest.raises(HostError, match="cannot read it"):
        await Host(tcp="127.0.0.1:1", key_file=tmp_path / "absent.key").start()
    with pytest.raises(HostNotStarted, match="the host is not started"):
        await Host().start_actor(b"")
    key_file = tmp_path / "board.key"
    key_file.write_text(json.dumps({"board_id": "gone", "pairing_key": "ab" * 32}))
    with pytest.raises(BoardUnreachable, match="board at tcp://127.0.0.1:1"):
        await Host(tcp="127.0.0.1:1", key_file=key_file, timeout=2).start()
