"""Host commands of the control interface, driven by a plain NATS client: la, sa, scale, upd,
stop, lp/sp, and malformed requests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import nats
import pytest
from support.controlrig import EventLog, ctl_gather, ctl_request
from support.latticerig import serving, signed_actor, start_gateway, wait_for, write_registry
from support.responses import read_response

from edgegate.gateway import Gateway
from edgegate.rpc import antiforgery
from edgegate.rpc.invocation import Entity, Invocation, InvocationResponse
from edgegate.wascap import ActorMetadata, KeyPair, sign_module

pytestmark = pytest.mark.nats


@dataclass
class Rig:
    nc: nats.NATS
    gateway: Gateway
    host_id: str
    events: EventLog
    cluster: KeyPair
    tmp_path: object

    def file_ref(self, module: bytes, name: str) -> str:
        path = self.tmp_path / name
        path.write_bytes(module)
        return f"file://{path}"

    async def call(self, actor: str, msg: bytes, operation: str = "Echo") -> InvocationResponse:
        inv = Invocation(Entity.actor("M" + "T" * 55), Entity.actor(actor), operation, msg,
                         host_id=self.cluster.public_key)
        antiforgery.sign(inv, self.cluster)
        reply = await self.nc.request(f"wasmbus.rpc.default.{actor}", inv.pack(), timeout=20)
        return read_response(reply.data)


@pytest.fixture
async def rig(nats_server, sim_boards, tmp_path, cluster_env):
    """An empty simulated board served by a gateway that may load file:// actors."""
    board = sim_boards("kitchen")
    registry = write_registry(tmp_path / "boards.json",
                              board.registry_entry(labels={"room": "kitchen"}))
    env = {**cluster_env, "WASMCLOUD_ALLOW_FILE_LOAD": "true"}
    gateway = await start_gateway(registry, nats_server.url, env)
    nc = await nats.connect(nats_server.url)
    events = await EventLog().start(nc)
    try:
        await wait_for(serving(gateway, "kitchen", 0), what="the board served")
        hosts = await ctl_gather(nc, "ping.hosts", wait=1.0)
        assert len(hosts) == 1
        yield Rig(nc, gateway, hosts[0]["id"], events,
                  KeyPair.from_seed(cluster_env["WASMCLOUD_CLUSTER_SEED"]), tmp_path)
    finally:
        await nc.close()
        await gateway.stop()


async def inventory_actors(rig: Rig) -> dict[str, dict]:
    inv = await ctl_request(rig.nc, f"get.{rig.host_id}.inv")
    return {actor["id"]: actor for actor in inv["actors"]}


async def test_la_from_a_file_starts_the_actor_on_the_board(rig, actors):
    module, key = signed_actor(actors["echo"], "echo")
    ref = rig.file_ref(module, "echo.wasm")
    ack = await ctl_request(rig.nc, f"cmd.{rig.host_id}.la",
                            {"actor_ref": ref, "host_id": rig.host_id, "count": 1,
                             "annotations": {"app": "demo"}})
    assert ack == {"accepted": True, "error": ""}
    started = await rig.events.wait("actors_started", public_key=key)
    assert started["source"] == rig.host_id
    assert started["data"]["image_ref"] == ref
    assert started["data"]["annotations"] == {"app": "demo"}
    assert started["data"]["claims"]["name"] == "echo"
    await rig.events.wait("actor_started", public_key=key)
    answer = await rig.call(key, b"from the lattice")
    assert answer.error is None and answer.msg == b"from the lattice"
    inv = await ctl_request(rig.nc, f"get.{rig.host_id}.inv")
    assert set(inv) == {"host_id", "issuer", "labels", "friendly_name", "actors", "providers"}
    assert inv["host_id"] == rig.host_id and inv["issuer"] == rig.cluster.public_key
    assert inv["labels"]["room"] == "kitchen"
    # the board's own contracts, and no native provider yet
    assert sorted(p["contract_id"] for p in inv["providers"]) == ["edgehost:gpio",
                                                                  "edgehost:sensorled"]
    [actor] = inv["actors"]
    assert set(actor) == {"id", "image_ref", "name", "instances"}
    assert (actor["id"], actor["image_ref"], actor["name"]) == (key, ref, "echo")
    [instance] = actor["instances"]
    assert set(instance) == {"annotations", "instance_id", "revision"}
    assert instance["annotations"] == {"app": "demo"} and instance["instance_id"]
    assert rig.gateway.lattice.metadata.refmaps.get(ref) == key  # REFMAP_ written


async def test_la_of_a_tampered_module_fails_with_the_claims_reason(rig, actors):
    module, _ = signed_actor(actors["echo"], "echo")
    tampered = module.replace(b"Echo", b"Ech0", 1)
    assert tampered != module
    ref = rig.file_ref(tampered, "tampered.wasm")
    ack = await ctl_request(rig.nc, f"cmd.{rig.host_id}.la", {"actor_ref": ref})
    assert ack["accepted"] is True  # acked at once; the failure comes as an event
    failed = await rig.events.wait("actor_start_failed", actor_ref=ref)
    assert "hash" in failed["data"]["error"]
    assert await inventory_actors(rig) == {}


async def test_la_of_an_expired_module_fails(rig, actors):
    subject = KeyPair.generate("module")
    module = sign_module(actors["echo"], KeyPair.generate("account"), subject,
                         ActorMetadata("old"), expires_in=10, now=1_000_000)
    ref = rig.file_ref(module, "old.wasm")
    await ctl_request(rig.nc, f"cmd.{rig.host_id}.la", {"actor_ref": ref})
    failed = await rig.events.wait("actor_start_failed", actor_ref=ref)
    assert "expired" in failed["data"]["error"]


async def test_file_loads_are_refused_without_the_variable(nats_server, sim_boards, tmp_path,
                                                         cluster_env, actors):
    board = sim_boards("porch")
    gateway = await start_gateway(write_registry(tmp_path / "b.json", board.registry_entry()),
                                  nats_server.url, cluster_env)
    nc = await nats.connect(nats_server.url)
    try:
        events = await EventLog().start(nc)
        await wait_for(serving(gateway, "porch", 0), what="the board served")
        host_id = gateway.hosts["porch"].id
        path = tmp_path / "echo.wasm"
        path.write_bytes(signed_actor(actors["echo"], "echo")[0])
        await ctl_request(nc, f"cmd.{host_id}.la", {"actor_ref": f"file://{path}"})
        failed = await events.wait("actor_start_failed", actor_ref=f"file://{path}")
        assert "WASMCLOUD_ALLOW_FILE_LOAD=true" in failed["data"]["error"]
    finally:
        await nc.close()
        await gateway.stop()


async def start_echo(rig: Rig, actors, name: str = "echo") -> tuple[str, str]:
    module, key = signed_actor(actors["echo"], name)
    ref = rig.file_ref(module, f"{name}.wasm")
    await ctl_request(rig.nc, f"cmd.{rig.host_id}.la", {"actor_ref": ref})
    await rig.events.wait("actors_started", public_key=key)
    return key, ref


async def test_sa_stops_the_actor_and_takes_it_off_the_board(rig, actors):
    key, _ = await start_echo(rig, actors)
    ack = await ctl_request(rig.nc, f"cmd.{rig.host_id}.sa", {"actor_ref": key, "count": 0})
    assert ack == {"accepted": True, "error": ""}
    await rig.events.wait("actor_stopped", public_key=key)
    assert await inventory_actors(rig) == {}
    assert key not in (rig.gateway.hosts["kitchen"].session.hello.get("actors") or {})
    again = await ctl_request(rig.nc, f"cmd.{rig.host_id}.sa", {"actor_ref": key, "count": 1})
    assert again["accepted"] is False and "is not running" in again["error"]


async def test_scale_to_zero_stops_and_scale_up_starts_from_the_ref(rig, actors):
    key, ref = await start_echo(rig, actors)
    body = {"actor_id": key, "actor_ref": ref, "count": 0, "host_id": rig.host_id}
    assert (await ctl_request(rig.nc, f"cmd.{rig.host_id}.scale", body))["accepted"]
    await rig.events.wait("actor_stopped", public_key=key)
    assert (await ctl_request(rig.nc, f"cmd.{rig.host_id}.scale",
                              {**body, "count": 1}))["accepted"]
    await rig.events.wait("actor_started", public_key=key)
    await wait_for(lambda: key in rig.gateway.hosts["kitchen"].actors, what="actor back")
    assert list(await inventory_actors(rig)) == [key]


async def test_scale_refuses_a_ref_of_another_actor(rig, actors):
    other, _ = signed_actor(actors["echo"], "other")
    ref = rig.file_ref(other, "other.wasm")
    wanted = "M" + "Q" * 55
    ack = await ctl_request(rig.nc, f"cmd.{rig.host_id}.scale",
                            {"actor_id": wanted, "actor_ref": ref, "count": 1})
    assert ack["accepted"]
    failed = await rig.events.wait("actor_start_failed", actor_ref=ref)
    assert f"not {wanted}" in failed["data"]["error"]


async def test_upd_swaps_the_module_under_load_with_no_failed_call(rig, actors):
    subject, issuer = KeyPair.generate("module"), KeyPair.generate("account")
    v1 = sign_module(actors["echo"], issuer, subject, ActorMetadata("echo", rev=1))
    v2 = sign_module(actors["shout"], issuer, subject, ActorMetadata("echo", rev=2))
    key = subject.public_key
    await ctl_request(rig.nc, f"cmd.{rig.host_id}.la", {"actor_ref": rig.file_ref(v1, "v1")})
    await rig.events.wait("actors_started", public_key=key)
    answers: list[InvocationResponse] = []
    stop = asyncio.Event()

    async def load() -> None:
        while not stop.is_set():
            answers.append(await rig.call(key, b"hello"))

    callers = [asyncio.create_task(load()) for _ in range(3)]
    await wait_for(lambda: len(answers) >= 5, what="calls before the update")
    ack = await ctl_request(rig.nc, f"cmd.{rig.host_id}.upd",
                            {"actor_id": key, "new_actor_ref": rig.file_ref(v2, "v2"),
                             "host_id": rig.host_id})
    assert ack == {"accepted": True, "error": ""}
    # the ack comes after the swap: the next call meets the new module
    after = len(answers)
    await wait_for(lambda: len(answers) >= after + 5, what="calls after the update")
    stop.set()
    await asyncio.gather(*callers)
    assert [a.error for a in answers if a.error] == []
    assert answers[0].msg == b"hello" and answers[-1].msg != b"hello"
    updated = await rig.events.wait("actor_updated", public_key=key)
    assert updated["data"]["revision"] == 2
    [instance] = (await inventory_actors(rig))[key]["instances"]
    assert instance["revision"] == 2


async def test_upd_refuses_a_module_of_another_actor_and_an_unknown_actor(rig, actors):
    key, _ = await start_echo(rig, actors)
    other, other_key = signed_actor(actors["echo"], "other")
    ack = await ctl_request(rig.nc, f"cmd.{rig.host_id}.upd",
                            {"actor_id": key, "new_actor_ref": rig.file_ref(other, "o.wasm")})
    assert ack["accepted"] is False and f"is actor {other_key}, not {key}" in ack["error"]
    failed = await rig.events.wait("actor_update_failed", public_key=key)
    assert "not " + key in failed["data"]["reason"]
    ack = await ctl_request(rig.nc, f"cmd.{rig.host_id}.upd",
                            {"actor_id": other_key, "new_actor_ref": rig.file_ref(other, "o")})
    assert ack["accepted"] is False and "is not running" in ack["error"]
    ack = await ctl_request(rig.nc, f"cmd.{rig.host_id}.upd",
                            {"new_actor_ref": rig.file_ref(other, "o")})  # the OTP host's form
    assert ack["accepted"] is False and f"actor {other_key} is not running" in ack["error"]
    ack = await ctl_request(rig.nc, f"cmd.{rig.host_id}.upd",
                            {"actor_id": key, "new_actor_ref": f"file://{rig.tmp_path}/none"})
    assert ack["accepted"] is False and "cannot read" in ack["error"]
    unsigned = rig.file_ref(actors["echo"], "unsigned.wasm")
    ack = await ctl_request(rig.nc, f"cmd.{rig.host_id}.upd", {"new_actor_ref": unsigned})
    assert ack["accepted"] is False and "no jwt" in ack["error"]


async def test_upd_with_only_the_new_reference_updates_the_modules_actor(rig, actors):
    subject, issuer = KeyPair.generate("module"), KeyPair.generate("account")
    v1 = sign_module(actors["echo"], issuer, subject, ActorMetadata("echo", rev=1))
    v2 = sign_module(actors["shout"], issuer, subject, ActorMetadata("echo", rev=2))
    await ctl_request(rig.nc, f"cmd.{rig.host_id}.la", {"actor_ref": rig.file_ref(v1, "v1")})
    await rig.events.wait("actors_started", public_key=subject.public_key)
    ack = await ctl_request(rig.nc, f"cmd.{rig.host_id}.upd",
                            {"new_actor_ref": rig.file_ref(v2, "v2")})
    assert ack == {"accepted": True, "error": ""}
    await rig.events.wait("actor_updated", public_key=subject.public_key, revision=2)


async def test_stop_ends_the_host_and_the_board_keeps_its_actors(rig, actors):
    key, _ = await start_echo(rig, actors)
    board_host = rig.gateway.hosts["kitchen"]
    ack = await ctl_request(rig.nc, f"cmd.{rig.host_id}.stop", {"host_id": rig.host_id,
                                                                 "timeout": 500})
    assert ack == {"accepted": True, "error": ""}
    await rig.events.wait("host_stopped")
    assert await ctl_gather(rig.nc, "ping.hosts", wait=0.5) == []
    assert key in (board_host.session.hello.get("actors") or {})  # still on the board


async def test_stopping_a_provider_that_does_not_run_is_refused_clearly(rig):
    ack = await ctl_request(rig.nc, f"cmd.{rig.host_id}.sp",
                            {"provider_ref": "V" + "A" * 55, "link_name": "default"})
    assert ack["accepted"] is False and "does not run on host" in ack["error"]


@pytest.mark.parametrize("verb, body, words", [
    ("la", b"{not json", "not JSON"),
    ("la", b"[1, 2]", "not an object"),
    ("la", {}, "actor_ref is missing"),
    ("la", {"actor_ref": 7}, "actor_ref must be a non-empty string"),
    ("la", {"actor_ref": "r.example.com/a:1", "count": "2"}, "count must be a whole number"),
    ("la", {"actor_ref": "r.example.com/a:1", "annotations": [1]}, "annotations must be"),
    ("sa", {"actor_ref": "M" + "A" * 55}, "count is missing"),
    ("sa", {"actor_ref": "M" + "A" * 55, "count": 0}, "is not running"),
    ("scale", {"actor_id": "M" + "A" * 55, "count": 1}, "actor_ref is missing"),
    ("upd", {"actor_id": "M" + "A" * 55}, "new_actor_ref is missing"),
    ("upd", {"actor_id": 5, "new_actor_ref": "r.example.com/a:1"}, "actor_id must be"),
    ("stop", {"timeout": "soon"}, "timeout must be a whole number"),
    ("lp", {"link_name": "default"}, "provider_ref is missing"),
    ("lp", {"provider_ref": "r.example.com/p:1", "configuration": 5}, "configuration must be"),
    ("sp", {"link_name": "default"}, "provider_ref is missing"),
    ("frobnicate", {}, "unknown command"),
])
async def test_malformed_commands_are_refused_and_the_gateway_goes_on(rig, verb, body, words):
    ack = await ctl_request(rig.nc, f"cmd.{rig.host_id}.{verb}", body)
    assert ack["accepted"] is False
    assert words in ack["error"]
    assert len(await ctl_gather(rig.nc, "ping.hosts", wait=0.5)) == 1


async def test_commands_for_a_host_of_another_gateway_are_left_alone(rig):
    # this gateway hears the wildcard subject but does not answer for a host it does not have
    with pytest.raises(nats.errors.TimeoutError):
        await ctl_request(rig.nc, f"cmd.N{'Z' * 55}.la", {"actor_ref": "x"}, timeout=1)
