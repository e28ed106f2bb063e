"""The host API on a real nats-server: a simulated board host driven through a whole scenario."""

from __future__ import annotations

import json

import nats
import pytest
from hostapi_rig import ping_hosts, signed
from support.providers import kv_par

from edgegate import Host
from edgegate.hostapi import ActorError, CallFailed, LinkError, ProviderError
from edgegate.manifests import ManifestError
from edgegate.wascap import KeyPair

pytestmark = pytest.mark.nats

PROVIDER = KeyPair.generate("provider").public_key
ACTOR = KeyPair.generate("module").public_key


async def test_a_whole_scenario_from_start_to_stop(nats_server, actors, host_env, tmp_path):
    echo_key = KeyPair.generate("module")
    echo = signed(actors["echo"], "echo", echo_key, rev=1, call_alias="echo")
    shout_file = tmp_path / "shout_s.wasm"
    shout_file.write_bytes(signed(actors["shout"], "shout"))
    nc = await nats.connect(nats_server.url)
    events: list[dict] = []

    async def seen(msg):
        events.append(json.loads(msg.data))

    await nc.subscribe("wasmbus.evt.default", cb=seen)
    try:
        async with Host(nats_url=nats_server.url, labels={"room": "lab"}, env=host_env) as host:
            assert host.id.startswith("N") and len(host.id) == 56
            assert [h["id"] for h in await ping_hosts(nc)] == [host.id]

            # actors from bytes and from a file, called directly and through the lattice
            assert await host.start_actor(echo) == echo_key.public_key
            shout = await host.start_actor(shout_file)
            assert sorted(await host.actors()) == sorted([echo_key.public_key, shout])
            assert await host.call_actor(echo_key.public_key, "Echo", b"hi") == b"hi"
            assert await host.call_actor("echo", "Echo", b"by alias") == b"by alias"
            assert await host.call_actor(shout, "Echo", b"quiet") == b"QUIET"
            assert await host.oci_refs() == {shout_file.resolve().as_uri(): shout}

            # a live update to a new revision of the same actor
            claims = await host.claims()
            assert claims[echo_key.public_key]["wascap"]["rev"] == 1
            await host.update_actor("echo", signed(actors["echo"], "echo", echo_key, rev=2,
                                                   call_alias="echo"))
            assert (await host.claims())[echo_key.public_key]["wascap"]["rev"] == 2
            assert await host.call_actor("echo", "Echo", b"after") == b"after"

            # links, seen by a plain control client
            await host.set_link("echo", "wasmcloud:keyvalue", PROVIDER, values={"a": "b"})
            links = await _links(nc)
            assert [(ld["actor_id"], ld["provider_id"], ld["values"]) for ld in links] == [
                (echo_key.public_key, PROVIDER, {"a": "b"})]
            await host.remove_link(echo_key.public_key, "wasmcloud:keyvalue")
            assert await _links(nc) == []

            # a capability provider started and stopped on the gateway's machine
            kv_ref, kv_key = kv_par(tmp_path)
            await host.start_provider(kv_ref, "first")
            assert await _provider_keys(nc, host.id) == [(kv_key, "first")]
            await host.stop_provider(kv_key, "first")
            assert await _provider_keys(nc, host.id) == []

            # a manifest: labels, an actor already there, a capability, a link
            outcomes = await host.apply_manifest({
                "labels": {"floor": "${FLOOR:2}"},
                "actors": [str(shout_file)],
                "capabilities": [{"image_ref": kv_ref}, {"image_ref": "r.example.com/nope:0.1"}],
                "links": [{"actor": echo_key.public_key, "contract_id": "wasmcloud:httpserver",
                           "provider_id": PROVIDER, "values": {"PORT": "8080"}}]})
            assert [o.status for o in outcomes] == ["applied", "already there", "applied",
                                                    "failed", "applied"]
            assert outcomes[1].detail == shout
            assert "r.example.com" in outcomes[3].detail
            assert await _provider_keys(nc, host.id) == [(kv_key, "default")]
            labels = await host.labels()
            assert labels["floor"] == "2" and labels["room"] == "lab"
            assert labels["site"] == "lab" and labels["hostcore.osfamily"] == "embedded"
            assert [ld["contract_id"] for ld in await _links(nc)] == ["wasmcloud:httpserver"]
            again = await host.apply_manifest({"labels": {"floor": "2"},
                                               "actors": [str(shout_file)]})
            assert [o.status for o in again] == ["already there", "already there"]

            await host.stop_actor(shout)
            assert await host.actors() == [echo_key.public_key]
            host_id = host.id
        assert await ping_hosts(nc, wait=0.5) == []
        assert any(e["type"] == "com.wasmcloud.lattice.host_stopped" and e["source"] == host_id
                   for e in events)
    finally:
        await nc.close()


async def _provider_keys(nc, host_id: str) -> list[tuple[str, str]]:
    """The native providers the host's inventory lists (not the board's own contracts)."""
    reply = await nc.request(f"wasmbus.ctl.default.get.{host_id}.inv", b"", timeout=5)
    return [(p["id"], p["link_name"]) for p in json.loads(reply.data)["providers"]
            if not p["contract_id"].startswith("edgehost:")]


async def _links(nc) -> list[dict]:
    reply = await nc.request("wasmbus.ctl.default.get.links", b"", timeout=5)
    return json.loads(reply.data)["links"]


async def test_errors_are_typed_and_one_line(nats_server, actors, host_env, tmp_path):
    async with Host(nats_url=nats_server.url, env=host_env) as host:
        with pytest.raises(ActorError, match="no claims|claims") as unsigned:
            await host.start_actor(actors["echo"])
        assert "\n" not in str(unsigned.value)
        with pytest.raises(ActorError, match="is not running on host"):
            await host.stop_actor("M" + "A" * 55)
        with pytest.raises(ActorError, match="cannot read it"):
            await host.start_actor(tmp_path / "missing.wasm")
        with pytest.raises(ActorError, match="must begin with a registry host"):
            await host.start_actor("echo:0.1.0")
        with pytest.raises(CallFailed, match="no actor with call alias 'nobody'"):
            await host.call_actor("nobody", "Echo", b"")
        with pytest.raises(ProviderError, match="missing.par"):
            await host.start_provider((tmp_path / "missing.par").as_uri())
        with pytest.raises(ProviderError, match="does not run on host"):
            await host.stop_provider(PROVIDER)
        with pytest.raises(LinkError, match="no link of actor"):
            await host.remove_link("M" + "A" * 55, "wasmcloud:x")
        echo = await host.start_actor(signed(actors["echo"], "echo"))
        other = signed(actors["shout"], "shout")
        with pytest.raises(ActorError, match="is actor M.*, not " + echo):
            await host.update_actor(echo, other)


async def test_a_bad_manifest_changes_nothing(nats_server, actors, host_env, tmp_path):
    module = tmp_path / "echo_s.wasm"
    module.write_bytes(signed(actors["echo"], "echo"))
    async with Host(nats_url=nats_server.url, env=host_env) as host:
        with pytest.raises(ManifestError, match=r"links\[0\].provider_id: must be a provider"):
            await host.apply_manifest({"labels": {"room": "x"}, "actors": [str(module)],
                                       "links": [{"actor": ACTOR,
                                                  "contract_id": "wasmcloud:x",
                                                  "provider_id": "nope"}]})
        assert await host.actors() == []
        assert "room" not in await host.labels()


async def test_actors_from_a_registry_start_and_update_by_reference(nats_server, actors,
                                                                   host_env, oci_registry):
    from edgegate.registries import OciClient, OciReference

    registry = oci_registry()
    subject = KeyPair.generate("module")
    client = OciClient(insecure=[registry.host])
    first, second = f"{registry.host}/echo:0.1.0", f"{registry.host}/echo:0.2.0"
    client.push(OciReference.parse(first), signed(actors["echo"], "echo", subject, rev=1))
    client.push(OciReference.parse(second), signed(actors["echo"], "echo", subject, rev=2))
    env = {**host_env, "WASMCLOUD_OCI_ALLOWED_INSECURE": registry.host}
    async with Host(nats_url=nats_server.url, env=env) as host:
        assert await host.start_actor(first) == subject.public_key
        assert await host.oci_refs() == {first: subject.public_key}
        await host.update_actor(first, second)
        assert await host.oci_refs() == {second: subject.public_key}
        assert (await host.claims())[subject.public_key]["wascap"]["rev"] == 2
        await host.stop_actor(second)
        assert await host.actors() == []
        with pytest.raises(ActorError, match="the registry has no such manifest"):
            await host.start_actor(f"{registry.host}/echo:9.9.9")


async def test_hosts_of_one_machine_share_its_cluster_seed_and_call_each_other(
        nats_server, actors, tmp_path):
    # no WASMCLOUD_CLUSTER_SEED: the seed is the machine's cluster.nk, as for `edgehost gateway`
    keys = tmp_path / "keys"
    env = {"EDGEHOST_KEYS_DIR": str(keys), "WASMCLOUD_LATTICE_PREFIX": "default"}
    echo = signed(actors["echo"], "echo")
    async with Host(nats_url=nats_server.url, env=env, state_dir=tmp_path / "a") as serving, \
            Host(nats_url=nats_server.url, env=env, state_dir=tmp_path / "b") as calling:
        actor = await serving.start_actor(echo)
        assert await calling.call_actor(actor, "Echo", b"next door") == b"next door"
    seed = (keys / "cluster.nk").read_text().strip()
    assert KeyPair.from_seed(seed).kind == "cluster"
