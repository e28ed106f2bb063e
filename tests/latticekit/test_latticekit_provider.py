"""The plain provider against a real nats-server: its subjects, its checks of inbound
invocations, and its own signed invocations to an actor."""

from __future__ import annotations

import json

import msgpack
import nats
import pytest
from nats.errors import NoRespondersError

from latticekit.antiforgery import FORGERIES, check_invocation, forge
from latticekit.invocations import (
    actor_entity,
    build_invocation,
    link_id,
    pack,
    pack_response,
    unpack,
)
from latticekit.natsclient import flush_all
from latticekit.nkeypairs import NKey

pytestmark = pytest.mark.nats

HOST_CLUSTER = NKey.generate("C")  # the cluster key of the "host" that calls the provider
HOST_ID = NKey.generate("N").public_key
ACTOR = NKey.generate("M").public_key


async def provider_for(plain_providers, server, **options):
    options.setdefault("cluster_issuers", [HOST_CLUSTER.public_key])
    return await plain_providers(server.url, **options)


async def call_provider(server, provider, packed: bytes) -> dict:
    nc = await nats.connect(server.url)
    try:
        return unpack((await nc.request(provider.rpc_subject, packed, timeout=5)).data)
    finally:
        await nc.close()


def invocation_to(provider, operation="Testing.Echo", msg=b"ping") -> dict:
    return build_invocation(HOST_CLUSTER, actor_entity(ACTOR), provider.entity, operation,
                            msg, HOST_ID)


async def test_a_signed_invocation_is_answered_and_passes_every_check(nats_single,
                                                                      plain_providers):
    provider = await provider_for(plain_providers, nats_single)
    inv = invocation_to(provider)
    response = await call_provider(nats_single, provider, pack(inv))
    assert response == {"msg": b"ping", "invocation_id": inv["id"], "content_length": 4}
    [record] = await provider.wait_for_invocations(1)
    assert record.passed and record.checks.failed == []
    assert record.invocation["origin"] == actor_entity(ACTOR)
    assert record.subject == f"wasmbus.rpc.default.{provider.public_key}.default"


@pytest.mark.parametrize("kind", sorted(FORGERIES))
async def test_each_forgery_is_refused_naming_its_check(nats_single, plain_providers, kind):
    provider = await provider_for(plain_providers, nats_single)
    forged = forge(kind, HOST_CLUSTER, actor_entity(ACTOR), provider.entity, "Testing.Echo",
                   b"ping", HOST_ID)
    response = await call_provider(nats_single, provider, pack(forged))
    assert response["error"].startswith(f"Anti-forgery check failed: {FORGERIES[kind]}: ")
    assert response["msg"] == b"" and response["invocation_id"] == forged["id"]
    [record] = await provider.wait_for_invocations(1)
    assert record.checks.failed == [FORGERIES[kind]] and not record.passed


async def test_an_operation_handler_answers_and_its_failure_is_an_error(nats_single,
                                                                        plain_providers):
    provider = await provider_for(plain_providers, nats_single)

    async def shout(inv):
        return inv["msg"].upper()

    def refuse(inv):
        raise RuntimeError("no such thing")

    provider.handlers.update({"Testing.Shout": shout, "Testing.Refuse": refuse})
    loud = await call_provider(nats_single, provider, pack(invocation_to(
        provider, "Testing.Shout", b"hey")))
    assert loud["msg"] == b"HEY" and "error" not in loud
    refused = await call_provider(nats_single, provider, pack(invocation_to(
        provider, "Testing.Refuse")))
    assert refused["error"] == "no such thing" and refused["msg"] == b""


async def test_garbage_gets_an_error_and_the_provider_keeps_serving(nats_single,
                                                                    plain_providers):
    provider = await provider_for(plain_providers, nats_single)
    garbage = await call_provider(nats_single, provider, b"\xc1\x00garbage")
    assert garbage["error"].startswith("invalid invocation: not msgpack")
    odd = await call_provider(nats_single, provider, pack({"operation": 5, "id": "x1"}))
    assert odd["error"].startswith("Anti-forgery check failed: segments: ")
    assert odd["invocation_id"] == "x1"
    nc = await nats.connect(nats_single.url)
    try:
        await nc.publish(f"{provider.rpc_subject}.linkdefs.put", b"\xc1")
        await nc.publish(f"{provider.rpc_subject}.shutdown", b"{not json")
        await flush_all(nc)
    finally:
        await nc.close()
    good = await call_provider(nats_single, provider, pack(invocation_to(provider)))
    assert good["msg"] == b"ping" and "error" not in good
    assert [subject.rsplit(".", 1)[1] for subject, _ in provider.bad_messages] == [
        "put", "shutdown"]


async def test_linkdefs_are_recorded_and_a_repeated_put_is_harmless(nats_single,
                                                                    plain_providers):
    provider = await provider_for(plain_providers, nats_single)
    link = {"actor_id": ACTOR, "provider_id": provider.public_key, "link_name": "default",
            "contract_id": "wasmcloud:testing", "values": {"greeting": "hi"}}
    nc = await nats.connect(nats_single.url)
    try:
        for _ in range(2):
            await nc.publish(f"{provider.rpc_subject}.linkdefs.put", msgpack.packb(link))
        await flush_all(nc)
        got = await provider.wait_for_link(ACTOR)
        assert got["values"] == {"greeting": "hi"}
        assert got["id"] == link_id(ACTOR, "wasmcloud:testing", "default")
        await nc.publish(f"{provider.rpc_subject}.linkdefs.del", msgpack.packb(link))
        await flush_all(nc)
        await nc.request(f"{provider.rpc_subject}.health", b"", timeout=5)  # after the del
    finally:
        await nc.close()
    assert len(provider.linkdef_puts) == 2 and provider.links == {}
    assert len(provider.linkdef_dels) == 1


async def test_health_answers_and_shutdown_stops_serving(nats_single, plain_providers):
    provider = await provider_for(plain_providers, nats_single)
    nc = await nats.connect(nats_single.url)
    try:
        health = await nc.request(f"{provider.rpc_subject}.health",
                                  msgpack.packb({"placeholder": True}), timeout=5)
        assert msgpack.unpackb(health.data) == {"healthy": True, "message": "healthy"}
        bye = await nc.request(f"{provider.rpc_subject}.shutdown",
                               json.dumps({"host_id": HOST_ID}).encode(), timeout=5)
        assert bye.data == b"shutting down"
        assert provider.shutdown_requests == [{"host_id": HOST_ID}]
        with pytest.raises(NoRespondersError):
            await nc.request(provider.rpc_subject, pack(invocation_to(provider)), timeout=5)
    finally:
        await nc.close()
    assert provider.health_checks == 1


async def fake_actor_host(url: str, actor_pk: str, trusted: list[str], seen: list):
    """A bare nats-py stand-in for a host running `actor_pk`: checks each invocation with the
    kit's validator, records it, echoes msg reversed (or fetches a chunked one first)."""
    nc = await nats.connect(url)
    subject = f"wasmbus.rpc.default.{actor_pk}"

    async def answer(msg):
        inv = unpack(msg.data)
        payload = inv["msg"]
        if not payload and inv.get("content_length"):
            payload = (await (await nc.jetstream().object_store("default")).get(inv["id"])).data
        seen.append((inv, check_invocation(inv, trusted), payload))
        await msg.respond(pack_response({"msg": payload[::-1][:64], "invocation_id": inv["id"],
                                         "content_length": min(len(payload), 64)}))

    await nc.subscribe(subject, queue=subject, cb=answer)
    await flush_all(nc)
    return nc


async def test_invoke_actor_sends_an_invocation_a_host_accepts(nats_single, plain_providers):
    provider = await provider_for(plain_providers, nats_single)
    seen: list = []
    host = await fake_actor_host(nats_single.url, ACTOR, [provider.cluster.public_key], seen)
    try:
        response = await provider.invoke_actor(ACTOR, "Actor.Echo", b"abc")
    finally:
        await host.close()
    assert response["msg"] == b"cba" and "error" not in response
    [(inv, record, _)] = seen
    assert record.passed
    assert inv["origin"] == provider.entity and inv["target"] == actor_entity(ACTOR)
    assert inv["host_id"] == provider.host_id and provider.host_id.startswith("N")
    assert inv["content_length"] == 3 and response["invocation_id"] == inv["id"]


async def test_a_payload_over_900_kib_goes_through_the_object_store(nats_single,
                                                                    plain_providers):
    provider = await provider_for(plain_providers, nats_single)
    seen: list = []
    host = await fake_actor_host(nats_single.url, ACTOR, [provider.cluster.public_key], seen)
    big = bytes(range(256)) * 4096  # 1 MiB
    try:
        response = await provider.invoke_actor(ACTOR, "Actor.Echo", big)
    finally:
        await host.close()
    [(inv, record, payload)] = seen
    assert inv["msg"] == b"" and inv["content_length"] == len(big) and payload == big
    assert record.passed and record.checks["hash"] == "skip"
    assert response["msg"] == big[::-1][:64]


async def test_a_chunked_invocation_in_is_fetched_and_a_big_answer_chunked_out(
        nats_single, plain_providers):
    provider = await provider_for(plain_providers, nats_single)
    big = b"x" * (1024 * 1024)
    inv = invocation_to(provider, msg=big)
    nc = await nats.connect(nats_single.url)
    try:
        store = await nc.jetstream().create_object_store("default")
        await store.put(inv["id"], big)
        response = unpack((await nc.request(provider.rpc_subject, pack(dict(inv, msg=b"")),
                                            timeout=10)).data)
        answer = (await store.get(f"{inv['id']}-r")).data
    finally:
        await nc.close()
    assert response["msg"] == b"" and response["content_length"] == len(big)
    assert answer == big and "error" not in response
    [record] = await provider.wait_for_invocations(1)
    assert record.chunked and record.payload == big and record.passed


async def test_invoke_actor_names_the_actor_that_does_not_answer(nats_single,
                                                                plain_providers):
    provider = await provider_for(plain_providers, nats_single)
    silent = await nats.connect(nats_single.url)
    try:
        sub = await silent.subscribe(f"wasmbus.rpc.default.{ACTOR}")  # hears, never answers
        await flush_all(silent)
        with pytest.raises(TimeoutError, match=f"actor {ACTOR} did not answer"):
            await provider.invoke_actor(ACTOR, "Actor.Echo", b"", timeout=0.5)
        await sub.unsubscribe()
        await flush_all(silent)  # the server has dropped the interest once this returns
    finally:
        await silent.close()
    with pytest.raises(NoRespondersError, match=f"no responders on wasmbus.rpc.default.{ACTOR}"):
        await provider.invoke_actor(ACTOR, "Actor.Echo", b"", responder_wait=0.2)


async def test_the_provider_trusts_its_own_cluster_and_the_given_issuers(nats_single,
                                                                        plain_providers):
    seed = NKey.generate("C").seed
    provider = await provider_for(plain_providers, nats_single, cluster_seed=seed,
                                  provider_key=NKey.generate("V").seed, link_name="backup",
                                  contract_id="acme:thing")
    assert provider.cluster_issuers == {NKey.from_seed(seed).public_key,
                                        HOST_CLUSTER.public_key}
    assert provider.rpc_subject.endswith(".backup") and provider.public_key.startswith("V")
    own = build_invocation(provider.cluster, actor_entity(ACTOR), provider.entity, "Op", b"1",
                           HOST_ID)
    assert "error" not in await call_provider(nats_single, provider, pack(own))


async def test_a_provider_on_node_1_invokes_an_actor_hosted_on_node_3(nats_cluster,
                                                                     plain_providers):
    provider = await plain_providers(nats_cluster.urls[0])
    seen: list = []
    host = await fake_actor_host(nats_cluster.urls[2], ACTOR, [provider.cluster.public_key],
                                 seen)
    try:
        response = await provider.invoke_actor(ACTOR, "Actor.Echo", b"route",
                                               responder_wait=5.0)
    finally:
        await host.close()
    assert response["msg"] == b"etuor" and seen[0][1].passed
