"""LATTICEDATA_{L} against a real nats-server: the bucket, its watch, the caches and callbacks."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from nats.js import api

from edgegate.jetstream import LatticeMetadata, LinkDefinition, MetadataError, link_id
from edgegate.wascap import ActorMetadata, KeyPair, SignedModule, sign_module

pytestmark = pytest.mark.nats

BUCKET = "LATTICEDATA_default"
STREAM = "KV_LATTICEDATA_default"
ACTOR = KeyPair.generate("module").public_key
PROVIDER = KeyPair.generate("provider").public_key
CONTRACT = "wasmcloud:httpserver"


def link_json(actor: str = ACTOR, link_name: str = "default", **extra) -> bytes:
    """A LINKDEF_ value as another host's client writes it (here without an id)."""
    return json.dumps({"actor_id": actor, "provider_id": PROVIDER, "link_name": link_name,
                       "contract_id": CONTRACT, "values": {"PORT": "8080"}, **extra}).encode()


async def raw_put(client, key: str, value: bytes, operation: str | None = None) -> None:
    """Write a key the way the OTP host does: a request on $KV.…, no KV library involved."""
    headers = None
    if operation == "PURGE":
        headers = {"KV-Operation": "PURGE", "Nats-Rollup": "sub"}
    elif operation:
        headers = {"KV-Operation": operation}
    reply = await client.request(f"$KV.{BUCKET}.{key}", value, timeout=5, headers=headers)
    assert "error" not in json.loads(reply.data), reply.data


async def raw_put_bucket(other) -> None:
    """A bucket holding one link, made by another client."""
    await other.jetstream().create_key_value(bucket=BUCKET)
    await raw_put(other, f"LINKDEF_{link_id(ACTOR, CONTRACT, 'default')}", link_json())


class Seen:
    """Records every callback in order; `next()` waits for the next one."""

    def __init__(self, md: LatticeMetadata):
        self.events: asyncio.Queue[tuple[str, object]] = asyncio.Queue()
        md.on_link_set = lambda ld: self.events.put_nowait(("set", ld))
        md.on_link_deleted = lambda ld: self.events.put_nowait(("deleted", ld))
        md.on_claims = lambda claims: self.events.put_nowait(("claims", claims))

    async def next(self) -> tuple[str, object]:
        return await asyncio.wait_for(self.events.get(), 10)

    def rest(self) -> list[tuple[str, object]]:
        out = []
        while not self.events.empty():
            out.append(self.events.get_nowait())
        return out


@pytest.fixture
async def md(nc):
    metadata = LatticeMetadata(nc, "default")
    yield metadata
    await metadata.stop()


async def test_bucket_is_created_with_the_otp_hosts_stream_settings(md, other):
    await md.start()
    info = await other.jetstream().stream_info(STREAM)
    config = info.config
    assert config.subjects == [f"$KV.{BUCKET}.>"]
    assert config.max_msgs_per_subject == 1
    assert config.storage == api.StorageType.FILE
    assert config.retention == api.RetentionPolicy.LIMITS
    assert config.discard == api.DiscardPolicy.NEW
    assert (config.allow_rollup_hdrs, config.deny_delete, config.allow_direct) == (
        True, True, True)
    assert (config.deny_purge, config.mirror_direct, config.sealed) == (False, False, False)
    assert config.duplicate_window == 120
    assert (config.max_msgs, config.max_bytes, config.max_msg_size) == (-1, -1, -1)
    assert (config.max_consumers, config.num_replicas) == (-1, 1)
    assert not config.max_age
    # and a standard KV client can use it
    kv = await other.jetstream().key_value(BUCKET)
    await kv.put("CLAIMS_X", b"{}")


async def test_an_existing_bucket_is_used_as_it_is(nc, other):
    js = other.jetstream()
    await js.create_key_value(bucket=BUCKET, history=3, description="made by another tool")
    await raw_put(other, f"LINKDEF_{link_id(ACTOR, CONTRACT, 'default')}", link_json())
    first, second = LatticeMetadata(nc, "default"), LatticeMetadata(nc, "default")
    try:
        await first.start()
        await second.start()  # a second host starting on the same lattice
        config = (await js.stream_info(STREAM)).config
        assert (config.description, config.max_msgs_per_subject) == ("made by another tool", 3)
        for md in (first, second):
            assert md.find_link(ACTOR, CONTRACT, "default").values == {"PORT": "8080"}
    finally:
        await first.stop()
        await second.stop()


async def test_a_stream_that_is_no_kv_bucket_is_refused(md, other):
    await other.jetstream().add_stream(name=STREAM, subjects=["elsewhere.>"])
    with pytest.raises(MetadataError, match=r"stream KV_LATTICEDATA_default has subjects "
                                            r"\['elsewhere.>'\], not the one"):
        await md.start()


async def test_subjects_taken_by_another_stream_is_one_clear_error(md, other):
    await other.jetstream().add_stream(name="SQUATTER", subjects=[f"$KV.{BUCKET}.>"])
    with pytest.raises(MetadataError, match="cannot create the lattice metadata stream "
                                            "KV_LATTICEDATA_default: .*overlap"):
        await md.start()


async def test_claims_record_from_a_real_wascap_token(md, other, actors):
    from edgegate.jetstream import claims_record

    issuer, subject = KeyPair.generate("account"), KeyPair.generate("module")
    signed = sign_module(actors["echo"], issuer, subject, ActorMetadata(
        "echo", caps=["wasmcloud:httpserver", "wasmcloud:builtin:logging"], tags=["a", "b"],
        call_alias="greeter/echo"), now=1_700_000_000)
    record = claims_record(SignedModule(signed).claims)
    assert record == {
        "call_alias": "greeter/echo", "iss": issuer.public_key, "name": "echo",
        "caps": "wasmcloud:httpserver,wasmcloud:builtin:logging", "rev": "1700000000",
        "tags": "a,b", "version": "", "sub": subject.public_key, "contract_id": "",
    }
    seen = Seen(md)
    await md.start()
    await md.put_claims(record)
    # what another host reads: the spec's JSON, every value a string
    entry = await (await other.jetstream().key_value(BUCKET)).get(f"CLAIMS_{subject.public_key}")
    assert json.loads(entry.value) == record
    assert md.claims[subject.public_key] == record
    assert md.actor_for_alias("greeter/echo") == subject.public_key
    assert await seen.next() == ("claims", record)


async def test_claims_written_by_other_hosts_are_cached_liberally(md, other):
    await md.start()
    seen = Seen(md)
    # as the OTP host may write it: version null, contract_id absent
    await raw_put(other, f"CLAIMS_{ACTOR}", json.dumps({
        "call_alias": "otp/alias", "iss": "AISSUER", "name": "n", "caps": "x:y", "rev": "2",
        "tags": "", "version": None, "sub": ACTOR}).encode())
    kind, record = await seen.next()
    assert kind == "claims" and record["version"] == "" and record["contract_id"] == ""
    assert md.actor_for_alias("otp/alias") == ACTOR
    other_actor = KeyPair.generate("module").public_key
    await raw_put(other, f"CLAIMS_{other_actor}", json.dumps(
        {"call_alias": "otp/alias", "iss": "AISSUER", "sub": other_actor}).encode())
    await seen.next()
    assert md.actor_for_alias("otp/alias") == ACTOR  # the first to claim an alias keeps it
    await raw_put(other, f"CLAIMS_{ACTOR}", b"", "DEL")
    await raw_put(other, "CLAIMS_SENTINEL", b'{"sub": "SENTINEL"}')
    await seen.next()
    assert ACTOR not in md.claims and md.actor_for_alias("otp/alias") is None


async def test_links_from_another_client_fire_set_and_deleted_once_each(md, other):
    await md.start()
    seen = Seen(md)
    ldid = link_id(ACTOR, CONTRACT, "default")
    await raw_put(other, f"LINKDEF_{ldid}", link_json())
    kind, ld = await seen.next()
    assert kind == "set"
    assert ld == LinkDefinition(id=ldid, actor_id=ACTOR, provider_id=PROVIDER,
                                link_name="default", contract_id=CONTRACT,
                                values={"PORT": "8080"})
    assert md.links == {ldid: ld}
    assert md.find_link(ACTOR, CONTRACT, "default") == ld
    assert md.links_for_provider(PROVIDER, "default") == [ld]
    assert md.links_for_provider(PROVIDER, "other") == []

    await raw_put(other, f"LINKDEF_{ldid}", b"", "DEL")
    assert await seen.next() == ("deleted", ld)
    assert md.find_link(ACTOR, CONTRACT, "default") is None

    second = link_id(ACTOR, CONTRACT, "backup")
    await raw_put(other, f"LINKDEF_{second}", link_json(link_name="backup"))
    kind, ld2 = await seen.next()
    await raw_put(other, f"LINKDEF_{second}", b"", "PURGE")
    assert await seen.next() == ("deleted", ld2)
    assert md.links == {}
    # a deletion of a link nobody had is no event; then nothing else came
    await raw_put(other, "LINKDEF_UNKNOWN", b"", "DEL")
    await md.put_claims({"sub": "SENTINEL"})  # returns once the watch has seen it
    assert [kind for kind, _ in seen.rest()] == ["claims"]


async def test_links_already_in_the_bucket_are_loaded_before_start_returns(md, other):
    await other.jetstream().add_stream(  # the bucket as an OTP host made it earlier
        name=STREAM, subjects=[f"$KV.{BUCKET}.>"], max_msgs_per_subject=1,
        allow_rollup_hdrs=True, deny_delete=True, allow_direct=True)
    for name in ("a", "b"):
        await raw_put(other, f"LINKDEF_{link_id(ACTOR, CONTRACT, name)}", link_json(link_name=name))
    seen = Seen(md)
    await md.start()
    assert sorted(ld.link_name for ld in md.links.values()) == ["a", "b"]
    assert sorted(ld.link_name for kind, ld in seen.rest()) == ["a", "b"]


async def test_garbage_in_the_bucket_is_logged_once_and_skipped(md, other, caplog):
    await md.start()
    seen = Seen(md)
    garbage = {
        "LINKDEF_NOTJSON": b"not json",
        "LINKDEF_LIST": b"[1, 2]",
        "LINKDEF_NOACTOR": json.dumps({"provider_id": PROVIDER, "contract_id": CONTRACT}).encode(),
        "LINKDEF_BADVALUES": link_json(values=[1, 2]),
        "LINKDEF_DEEP": b"[" * 100_000,
        "LINKDEF_EMPTY": b"",
        "CLAIMS_BINARY": b"\xff\xfe",
        "REFMAP_NOURL": b'{"public_key": "M"}',
    }
    with caplog.at_level(logging.WARNING, logger="edgegate.jetstream.metadata"):
        for key, value in garbage.items():
            await raw_put(other, key, value)
        await raw_put(other, f"LINKDEF_{link_id(ACTOR, CONTRACT, 'default')}", link_json())
        assert (await seen.next())[0] == "set"  # the watch went on past all of it
    warned = [r.getMessage() for r in caplog.records]
    for key in garbage:
        assert sum(f"skipping {key}:" in line for line in warned) == 1, (key, warned)
    assert len(warned) == len(garbage)
    assert "actor_id must be a non-empty string" in "\n".join(warned)
    assert list(md.links) == [link_id(ACTOR, CONTRACT, "default")]
    assert md.claims == {} and md.refmaps == {}


async def test_own_writes_are_visible_when_the_call_returns(md, other):
    await md.start()
    seen = Seen(md)
    ld = LinkDefinition(actor_id=ACTOR, provider_id=PROVIDER, contract_id=CONTRACT,
                        values={"ADDRESS": "0.0.0.0:8080"})
    await md.put_link(ld)
    assert ld.id == link_id(ACTOR, CONTRACT, "default")
    assert md.find_link(ACTOR, CONTRACT, "default") == ld
    assert await seen.next() == ("set", ld)
    await md.put_refmap("wasmcloud.azurecr.io/echo:0.3.4", ACTOR)
    assert md.refmaps == {"wasmcloud.azurecr.io/echo:0.3.4": ACTOR}
    refmap = await (await other.jetstream().key_value(BUCKET)).get(
        "REFMAP_d2FzbWNsb3VkLmF6dXJlY3IuaW8vZWNobzowLjMuNA")
    assert json.loads(refmap.value) == {"oci_url": "wasmcloud.azurecr.io/echo:0.3.4",
                                        "public_key": ACTOR}
    await md.delete_link(ld.id)
    assert md.links == {}
    assert await seen.next() == ("deleted", ld)
    # deleted with a DEL marker, the one the OTP host's watch understands
    marker = await other.jetstream().get_last_msg(STREAM, f"$KV.{BUCKET}.LINKDEF_{ld.id}")
    assert marker.headers["KV-Operation"] == "DEL"


async def test_a_link_stored_under_an_id_of_its_own_is_still_found(md, other):
    await md.start()
    await raw_put(other, "LINKDEF_CUSTOM-ID", link_json(id="CUSTOM-ID"))
    await md.put_claims({"sub": "SENTINEL"})
    assert md.find_link(ACTOR, CONTRACT, "default").id == "CUSTOM-ID"


async def test_a_failing_callback_is_logged_and_the_watch_goes_on(md, other, caplog):
    def broken(ld):
        raise RuntimeError("host bug")

    md.on_link_set = broken
    await md.start()
    with caplog.at_level(logging.ERROR, logger="edgegate.jetstream.metadata"):
        await md.put_link(LinkDefinition(actor_id=ACTOR, provider_id=PROVIDER,
                                         contract_id=CONTRACT))
    assert "a callback failed" in caplog.text and "host bug" in caplog.text
    await md.put_claims({"sub": "SENTINEL"})
    assert "SENTINEL" in md.claims


async def test_coroutine_callbacks_are_awaited(md, other):
    got = []

    async def on_set(ld):
        await asyncio.sleep(0)
        got.append(ld.link_name)

    md.on_link_set = on_set
    await md.start()
    await md.put_link(LinkDefinition(actor_id=ACTOR, provider_id=PROVIDER, contract_id=CONTRACT))
    assert got == ["default"]


async def test_a_start_the_watch_cannot_finish_is_a_clear_error(nc, other):
    await raw_put_bucket(other)
    stuck = asyncio.Event()
    md = LatticeMetadata(nc, "default", timeout=0.5)
    md.on_link_set = lambda ld: stuck.wait()  # a host callback that never returns
    with pytest.raises(MetadataError, match="the watch on LATTICEDATA_default did not deliver"):
        await md.start()
    md.on_link_set = None  # once the host is mended, the same object starts
    try:
        await md.start()
        assert md.find_link(ACTOR, CONTRACT, "default") is not None
    finally:
        await md.stop()


async def test_a_write_the_watch_has_not_seen_is_logged_not_lost(nc, other, caplog):
    stuck = asyncio.Event()
    md = LatticeMetadata(nc, "default", timeout=0.5)
    await md.start()
    md.on_link_set = lambda ld: stuck.wait()
    try:
        await md.put_link(LinkDefinition(actor_id=ACTOR, provider_id=PROVIDER,
                                         contract_id=CONTRACT))
        with caplog.at_level(logging.WARNING, logger="edgegate.jetstream.metadata"):
            await md.put_claims({"sub": "LATER"})
        assert "wrote CLAIMS_LATER to LATTICEDATA_default, but the watch has not seen it" in (
            caplog.text)
        entry = await (await other.jetstream().key_value(BUCKET)).get("CLAIMS_LATER")
        assert json.loads(entry.value)["sub"] == "LATER"
    finally:
        stuck.set()
        await md.stop()


async def test_writes_before_start_and_bad_requests_are_refused(md):
    with pytest.raises(MetadataError, match="lattice metadata LATTICEDATA_default is not started"):
        await md.put_link(LinkDefinition(actor_id=ACTOR, provider_id=PROVIDER,
                                         contract_id=CONTRACT))
    await md.start()
    with pytest.raises(MetadataError, match="claims to publish: sub must be a non-empty string"):
        await md.put_claims({"name": "nobody"})
    with pytest.raises(MetadataError, match="'CLAIMS_has space' is not a valid key"):
        await md.put_claims({"sub": "has space"})
    with pytest.raises(MetadataError, match="a refmap needs an oci_url and a public_key"):
        await md.put_refmap("", ACTOR)
    with pytest.raises(MetadataError, match="delete_link needs a link id"):
        await md.delete_link("")


async def test_resync_applies_what_changed_while_the_watch_was_away(md, other):
    await md.start()
    a, b = (LinkDefinition(actor_id=ACTOR, provider_id=PROVIDER, contract_id=CONTRACT,
                           link_name=name) for name in ("a", "b"))
    await md.put_link(a)
    await md.put_link(b)
    await md.put_claims({"sub": ACTOR, "call_alias": "gone/alias"})
    await md._stop_watch()  # as if the consumer went away with the server
    await raw_put(other, f"LINKDEF_{a.id}", b"", "DEL")
    await raw_put(other, f"LINKDEF_{link_id(ACTOR, CONTRACT, 'c')}", link_json(link_name="c"))
    seen = Seen(md)
    await md.resync()
    events = seen.rest()
    assert ("deleted", a) in events
    assert sorted(ld.link_name for kind, ld in events if kind == "set") == ["b", "c"]
    assert sorted(ld.link_name for ld in md.links.values()) == ["b", "c"]

    # a server that lost its store: the bucket is made again, empty, and the caches empty too
    await other.jetstream().delete_stream(STREAM)
    await md.resync()
    assert (await other.jetstream().stream_info(STREAM)).config.deny_delete
    assert sorted(ld.link_name for kind, ld in seen.rest() if kind == "deleted") == ["b", "c"]
    assert (md.links, md.claims, md.actor_for_alias("gone/alias")) == ({}, {}, None)
    await md.put_link(a)  # sequences restarted at 1: the write is still confirmed
    assert md.find_link(ACTOR, CONTRACT, "a") == a


async def test_resync_before_start_is_refused(md):
    with pytest.raises(MetadataError, match="is not started"):
        await md.resync()


async def test_a_server_without_jetstream_is_one_clear_error(nc_without_jetstream):
    md = LatticeMetadata(nc_without_jetstream, "default", timeout=1)
    with pytest.raises(MetadataError, match="cannot create the lattice metadata stream "
                                            "KV_LATTICEDATA_default: no JetStream answers "
                                            r"\(is JetStream enabled"):
        await md.start()


async def test_with_a_js_domain_keys_live_under_the_domain_as_the_otp_host_writes_them(
        nc_in_domain):
    md = LatticeMetadata(nc_in_domain, "default", js_domain="hub")
    seen = Seen(md)
    try:
        await md.start()
        info = await nc_in_domain.jetstream(domain="hub").stream_info(STREAM)
        assert info.config.subjects == [f"hub.$KV.{BUCKET}.>"]
        # an OTP host in that domain writes on hub.$KV.…: we see it
        reply = await nc_in_domain.request(f"hub.$KV.{BUCKET}.LINKDEF_X", link_json(), timeout=5)
        assert "error" not in json.loads(reply.data)
        assert (await seen.next())[0] == "set"
        await md.put_claims({"sub": ACTOR})
        last = await nc_in_domain.jetstream(domain="hub").get_last_msg(
            STREAM, f"hub.$KV.{BUCKET}.CLAIMS_{ACTOR}")
        assert json.loads(last.data)["sub"] == ACTOR
    finally:
        await md.stop()
