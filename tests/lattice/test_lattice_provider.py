"""A capability provider written with plain nats-py (tests/latticekit, none of the gateway's
code) and a board host: link definitions, calls both ways, and forgeries refused."""

from __future__ import annotations

import nats
import pytest
from latticekit.antiforgery import FORGERIES
from support.latticecalls import lattice_events
from support.latticerig import serving, signed_actor, start_gateway, wait_for, write_registry

pytestmark = pytest.mark.nats

CONTRACT = "wasmcloud:example"
REFUSED_AS = {
    "bad_signature": "bad signature",
    "unknown_issuer": "unknown issuer",
    "changed_msg": "hash mismatch",
    "changed_target_url": "target URL mismatch",
    "changed_origin_url": "origin URL mismatch",
    "expired": "expired",
    "not_yet_valid": "not yet valid",
    "missing_claims": "missing claims",
    "missing_wascap": "missing wascap claims",
    "bad_header": "wrong algorithm",
    "empty_subject": "missing issuer or subject",
}


@pytest.fixture
async def rig(nats_server, sim_boards, actors, tmp_path, cluster_env, plain_providers):
    board = sim_boards("kitchen")
    caller, caller_key = signed_actor(actors["caller"], "caller", caps=[CONTRACT])
    echo, echo_key = signed_actor(actors["echo"], "echo", caps=[CONTRACT])
    await board.install(caller, echo)
    provider = await plain_providers(nats_server.url, contract_id=CONTRACT,
                                     cluster_seed=cluster_env["WASMCLOUD_CLUSTER_SEED"])
    nc = await nats.connect(nats_server.url)
    events = await lattice_events(nc)
    gw = await start_gateway(write_registry(tmp_path / "boards.json", board.registry_entry()),
                             nats_server.url, cluster_env)
    try:
        await wait_for(serving(gw, "kitchen", 2), what="both actors served")
        yield gw, provider, caller_key, echo_key, events
    finally:
        await gw.stop()
        await nc.close()


async def link(gw, actor: str, provider) -> None:
    from edgegate.jetstream.entries import LinkDefinition
    await gw.lattice.metadata.put_link(LinkDefinition(
        actor_id=actor, provider_id=provider.public_key, link_name="default",
        contract_id=CONTRACT, values={"greeting": "hi"}))


async def test_the_provider_gets_linkdefs_put_and_a_linkdef_set_event(rig):
    gw, provider, caller, _, events = rig
    await link(gw, caller, provider)
    put = await provider.wait_for_link(caller)
    assert put["provider_id"] == provider.public_key
    assert put["values"] == {"greeting": "hi"}
    await wait_for(lambda: any(e["type"].endswith("linkdef_set") for e in events),
                   what="a linkdef_set event")
    await gw.lattice.metadata.delete_link(put["id"])
    await wait_for(lambda: provider.linkdef_dels, what="linkdefs.del to the provider")
    await wait_for(lambda: any(e["type"].endswith("linkdef_deleted") for e in events),
                   what="a linkdef_deleted event")


async def test_an_actor_calls_the_provider_and_passes_all_its_checks(rig):
    gw, provider, caller, _, _ = rig
    await link(gw, caller, provider)
    await provider.wait_for_link(caller)
    answer = await provider.invoke_actor(caller, "Call",
                                         f"default|{CONTRACT}|Example.Echo|to the provider"
                                         .encode(), timeout=10)
    assert "error" not in answer, answer.get("error")
    assert answer["msg"] == b"to the provider"
    records = [r for r in provider.invocations if r.operation == "Example.Echo"]
    assert len(records) == 1
    record = records[0]
    assert record.passed, record
    assert record.invocation["host_id"] == gw.hosts["kitchen"].id
    assert record.invocation["origin"] == {"public_key": caller, "link_name": "",
                                           "contract_id": ""}


async def test_the_provider_invokes_a_board_actor_with_its_own_invocation(rig):
    _, provider, _, echo, _ = rig
    answer = await provider.invoke_actor(echo, "Echo", b"from a provider", timeout=10)
    assert "error" not in answer, answer.get("error")
    assert answer["msg"] == b"from a provider"
    assert answer["invocation_id"]
    assert answer["content_length"] == len(b"from a provider")


async def test_bytes_that_are_not_utf8_come_back_byte_for_byte_in_a_str_msg(rig):
    # the kit reads the answer as wasmCloud's Go provider SDK does: msg must be a msgpack str
    _, provider, _, echo, _ = rig
    payload = bytes(range(256)) + b"\xed\xa0\x80\xc0\xaf\xff"  # a surrogate, an overlong
    answer = await provider.invoke_actor(echo, "Echo", payload, timeout=10)
    assert "error" not in answer, answer.get("error")
    assert answer["msg"] == payload


async def test_a_provider_whose_contract_the_actor_lacks_is_refused(rig, plain_providers,
                                                                    nats_server, cluster_env):
    _, _, _, echo, _ = rig
    stranger = await plain_providers(nats_server.url, contract_id="wasmcloud:secrets",
                                     cluster_seed=cluster_env["WASMCLOUD_CLUSTER_SEED"])
    answer = await stranger.invoke_actor(echo, "Echo", b"let me in", timeout=10)
    assert "does not hold capability wasmcloud:secrets" in answer["error"]


@pytest.mark.parametrize("kind", sorted(FORGERIES))
async def test_a_forged_invocation_is_refused_naming_its_check(rig, kind):
    gw, provider, _, echo, events = rig
    host = gw.hosts["kitchen"]
    answer = await provider.send(echo, provider.forge(kind, echo, "Echo", b"forged?"),
                                 timeout=10)
    assert answer["error"].startswith(f"Anti-forgery check failed: {REFUSED_AS[kind]}: "), \
        answer["error"]
    assert answer["msg"] == b""
    await wait_for(lambda: any(e["type"].endswith("invocation_failed") for e in events),
                   what="an invocation_failed event")
    failed = next(e for e in events if e["type"].endswith("invocation_failed"))
    assert failed["data"]["error"] == answer["error"]
    assert host.invocations["to_board"] == 0  # nothing reached the board


TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def test_the_trace_context_of_a_call_travels_on_to_the_provider(rig):
    gw, provider, caller, _, _ = rig
    await link(gw, caller, provider)
    await provider.wait_for_link(caller)
    answer = await provider.invoke_actor(caller, "Call",
                                         f"default|{CONTRACT}|Example.Echo|traced".encode(),
                                         headers={"traceparent": TRACEPARENT}, timeout=10)
    assert answer["msg"] == b"traced", answer.get("error")
    record = next(r for r in provider.invocations if r.operation == "Example.Echo")
    assert record.headers.get("traceparent") == TRACEPARENT
    assert record.invocation["traceContext"]["traceparent"] == TRACEPARENT


async def test_a_provider_that_does_not_answer_in_time_is_a_host_error_for_the_actor(rig):
    import asyncio
    gw, provider, caller, _, _ = rig
    gw.lattice.config.rpc_timeout_ms = 300

    async def too_slow(invocation):
        await asyncio.sleep(3)
        return b"late"

    provider.handlers["Example.Slow"] = too_slow
    await link(gw, caller, provider)
    await provider.wait_for_link(caller)
    answer = await provider.invoke_actor(caller, "Call",
                                         f"default|{CONTRACT}|Example.Slow|x".encode(),
                                         timeout=10)
    assert "host call failed: " in answer["error"]
    assert f"{provider.public_key} Example.Slow: no answer within 300 ms" in answer["error"]
