"""Lattice-wide control requests: auctions, claims, links, registry credentials, and actors
started from a real registry with auth."""

from __future__ import annotations

import nats
import pytest
from support.controlrig import EventLog, ctl_gather, ctl_request
from support.latticerig import serving, signed_actor, start_gateway, wait_for, write_registry

from edgegate.registries import OciClient, OciReference
from edgegate.registries.oci import Credential
from edgegate.vhost.install import install_on_board

pytestmark = pytest.mark.nats


@pytest.fixture
def registries(oci_registry, monkeypatch):
    """An open registry and one with basic auth, both reached over plain HTTP."""
    both = oci_registry(), oci_registry("edge", "s3cret")
    monkeypatch.setenv("WASMCLOUD_OCI_ALLOWED_INSECURE", ",".join(r.host for r in both))
    return both


@pytest.fixture
async def lattice(nats_server, sim_boards, tmp_path, cluster_env, registries):
    """Two boards, kitchen (room=kitchen) and porch (room=porch), on one gateway that may
    load file:// actors and reaches the test registries."""
    # boards without PSRAM: an actor of many pages is more than they can hold
    kitchen = sim_boards("kitchen", "--profile", "esp32-devkitc")
    porch = sim_boards("porch", "--profile", "esp32-devkitc")
    registry = write_registry(tmp_path / "boards.json",
                              kitchen.registry_entry(labels={"room": "kitchen"}),
                              porch.registry_entry(labels={"room": "porch"}))
    env = {**cluster_env, "WASMCLOUD_ALLOW_FILE_LOAD": "true"}
    gateway = await start_gateway(registry, nats_server.url, env)
    nc = await nats.connect(nats_server.url)
    try:
        await wait_for(serving(gateway, "kitchen", 0), what="kitchen served")
        await wait_for(serving(gateway, "porch", 0), what="porch served")
        yield nc, gateway
    finally:
        await nc.close()
        await gateway.stop()


def pushed(registry, module: bytes, name: str, tag: str = "0.1.0") -> str:
    client = OciClient({registry.host: Credential(registry.user or "", registry.password or "")},
                       insecure=[registry.host])
    ref = f"{registry.host}/edge/{name}:{tag}"
    client.push(OciReference.parse(ref), module)
    return ref


async def test_actor_auctions_bid_only_where_all_constraints_match(lattice, registries,
                                                                  actors):
    nc, gateway = lattice
    registry = registries[0]
    ref = pushed(registry, signed_actor(actors["echo"], "echo")[0], "echo")
    bids = await ctl_gather(nc, "auction.actor", {"actor_ref": ref,
                                                  "constraints": {"room": "porch"}})
    assert bids == [{"actor_ref": ref, "constraints": {"room": "porch"},
                     "host_id": gateway.hosts["porch"].id}]
    everyone = await ctl_gather(nc, "auction.actor", {"actor_ref": ref, "constraints": {}})
    assert {b["host_id"] for b in everyone} == {h.id for h in gateway.hosts.values()}
    none = await ctl_gather(nc, "auction.actor",
                            {"actor_ref": ref, "constraints": {"room": "porch", "os": "x"}})
    assert none == []


async def test_a_board_does_not_bid_for_an_actor_it_cannot_hold(lattice, actors, tmp_path):
    nc, gateway = lattice
    path = tmp_path / "big.wasm"
    path.write_bytes(signed_actor(actors["big_memory"], "big")[0])
    bids = await ctl_gather(nc, "auction.actor", {"actor_ref": f"file://{path}"})
    assert bids == []  # its memory needs more wasm pages than a board gives an actor
    small = tmp_path / "echo.wasm"
    small.write_bytes(signed_actor(actors["echo"], "echo")[0])
    assert len(await ctl_gather(nc, "auction.actor", {"actor_ref": f"file://{small}"})) == 2


async def test_no_board_bids_for_a_module_that_cannot_be_fetched(lattice, tmp_path):
    nc, _ = lattice
    bids = await ctl_gather(nc, "auction.actor", {"actor_ref": f"file://{tmp_path}/none.wasm"})
    assert bids == []


async def test_board_hosts_bid_for_providers_whose_constraints_they_meet(lattice):
    nc, _ = lattice
    asked = {"provider_ref": "r.example.com/p:1", "link_name": "default"}
    bids = await ctl_gather(nc, "auction.provider", {**asked, "constraints": {}})
    assert len(bids) == 2 and all(bid["host_id"].startswith("N") for bid in bids)
    assert all(bid["provider_ref"] == asked["provider_ref"] for bid in bids)
    unmet = await ctl_gather(nc, "auction.provider", {**asked, "constraints": {"no": "such"}})
    assert unmet == []


@pytest.mark.parametrize("subject, body, words", [
    ("auction.actor", b"nope", "not JSON"),
    ("auction.actor", {"constraints": {}}, "actor_ref is missing"),
    ("auction.actor", {"actor_ref": "r.example.com/a:1", "constraints": {"a": 1}},
     "constraints must be an object of strings"),
    ("auction.provider", {"link_name": "default"}, "provider_ref is missing"),
    ("linkdefs.put", {"actor_id": "M" + "A" * 55, "contract_id": "wasmcloud:x"},
     "provider_id is missing"),
    ("linkdefs.put", {"actor_id": "M" + "A" * 55, "contract_id": "wasmcloud:x",
                      "provider_id": "V" + "A" * 55, "values": {"port": 8080}},
     "values must be an object of strings"),
    ("linkdefs.del", {"actor_id": "M" + "A" * 55, "contract_id": "wasmcloud:x",
                      "link_name": "default"}, "no link of actor"),
    ("registries.put", b"[]", "not an object"),
    ("registries.put", {"r.example.com": {"username": ["x"]}}, "username must be a string"),
])
async def test_malformed_lattice_requests_are_refused(lattice, subject, body, words):
    nc, _ = lattice
    answer = await ctl_request(nc, subject, body)
    assert answer["accepted"] is False and words in answer["error"]


async def test_claims_and_links_are_put_listed_and_deleted(lattice, actors):
    nc, gateway = lattice
    module, key = signed_actor(actors["echo"], "echo", call_alias="echo-1")
    await install_on_board(gateway.hosts["kitchen"], module)
    claims = (await ctl_request(nc, "get.claims"))["claims"]
    [mine] = [c for c in claims if c["sub"] == key]
    assert set(mine) == {"call_alias", "iss", "name", "caps", "rev", "tags", "version", "sub",
                         "contract_id"}
    assert (mine["name"], mine["call_alias"]) == ("echo", "echo-1")
    provider = "V" + "P" * 55
    link = {"actor_id": key, "provider_id": provider, "contract_id": "wasmcloud:httpserver",
            "link_name": "default", "values": {"PORT": "8080"}}
    assert await ctl_request(nc, "linkdefs.put", link) == {"accepted": True, "error": ""}
    [listed] = (await ctl_request(nc, "get.links"))["links"]
    assert set(listed) == {"id", "actor_id", "provider_id", "link_name", "contract_id",
                           "values"}
    assert {k: listed[k] for k in link} == link and len(listed["id"]) == 64
    gone = {k: link[k] for k in ("actor_id", "contract_id", "link_name")}
    assert await ctl_request(nc, "linkdefs.del", gone) == {"accepted": True, "error": ""}
    assert (await ctl_request(nc, "get.links"))["links"] == []


async def test_la_from_a_registry_with_auth_and_a_second_start_pulls_nothing(
        lattice, registries, actors):
    nc, gateway = lattice
    events = await EventLog().start(nc)
    registry = registries[1]
    module, key = signed_actor(actors["echo"], "echo")
    ref = pushed(registry, module, "echo")
    host_id = gateway.hosts["kitchen"].id
    await ctl_request(nc, f"cmd.{host_id}.la", {"actor_ref": ref})
    failed = await events.wait("actor_start_failed", actor_ref=ref)
    assert "registries.put" in failed["data"]["error"]  # no credentials yet
    ack = await ctl_request(nc, "registries.put", {registry.host: {
        "username": "edge", "password": "s3cret", "registryType": "oci"}})
    assert ack == {"accepted": True, "error": ""}
    await ctl_request(nc, f"cmd.{host_id}.la", {"actor_ref": ref})
    await events.wait("actors_started", public_key=key, image_ref=ref)
    assert gateway.lattice.metadata.refmaps.get(ref) == key
    await ctl_request(nc, f"cmd.{host_id}.sa", {"actor_ref": key, "count": 0})
    await events.wait("actor_stopped", public_key=key)
    registry.stop()  # the second start must need nothing from it
    events.events.clear()
    await ctl_request(nc, f"cmd.{host_id}.la", {"actor_ref": ref})
    await events.wait("actors_started", public_key=key)
    inv = await ctl_request(nc, f"get.{host_id}.inv")
    assert [(a["id"], a["image_ref"]) for a in inv["actors"]] == [(key, ref)]


async def test_a_full_board_does_not_bid_and_a_held_module_is_not_uploaded_again(lattice,
                                                                               actors, tmp_path):
    nc, gateway = lattice
    porch = gateway.hosts["porch"]
    # a board without PSRAM has RAM for one actor of two pages: then it is full
    await install_on_board(porch, signed_actor(actors["echo"], "echo")[0])
    assert porch.hello["budget"]["ram_free"] < 176 * 1024  # as its reply said
    path = tmp_path / "one_more.wasm"
    path.write_bytes(signed_actor(actors["echo"], "one_more")[0])
    bids = await ctl_gather(nc, "auction.actor", {"actor_ref": f"file://{path}"})
    assert [b["host_id"] for b in bids] == [gateway.hosts["kitchen"].id]
    # starting an actor the board holds byte for byte sends no module over its link
    events = await EventLog().start(nc)
    held = tmp_path / "held.wasm"
    module, key = signed_actor(actors["echo"], "held")
    held.write_bytes(module)
    kitchen = gateway.hosts["kitchen"]
    await install_on_board(kitchen, module)
    before = kitchen.session.device.bytes_out
    await ctl_request(nc, f"cmd.{kitchen.id}.la", {"actor_ref": f"file://{held}"})
    await events.wait("actors_started", public_key=key)
    assert kitchen.session.device.bytes_out - before < len(module)
