"""Native providers on a board host: lp of the kv provider from a file:// .par, a board actor
calling it through its link, health events, restarts, sp, host stop, and every start error."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import msgpack
import pytest
from provider_rig import KV_CONTRACT, kv_binary, kv_par, make_rig, provider_pids, write_par
from support.controlrig import ctl_request
from test_kv_provider import ask, invocation

from edgegate.providers.archive import platform_target

pytestmark = pytest.mark.nats


@pytest.fixture
async def rig(nats_server, sim_boards, tmp_path, cluster_env, actors):
    rig = await make_rig(nats_server, sim_boards, tmp_path, cluster_env, actors)
    try:
        yield rig
    finally:
        await rig.nc.close()
        await rig.gateway.stop()


async def native_providers(rig) -> list[tuple[str, str, str, str]]:
    """The inventory's providers other than the board's own contracts."""
    inv = await ctl_request(rig.nc, f"get.{rig.host_id}.inv")
    return [(p["id"], p["contract_id"], p["link_name"], p["image_ref"])
            for p in inv["providers"] if not p["contract_id"].startswith("edgehost:")]


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def kv_instance(rig, key: str) -> str:
    """The instance id the running kv provider answers with: the one its host data gave it."""
    return (await ask(rig, key, invocation(rig, key, rig.caller)))["instance_id"]


async def test_lp_starts_the_provider_and_a_board_actor_calls_it_through_its_link(rig,
                                                                                  tmp_path):
    ref, key = kv_par(tmp_path)
    ack = await rig.lp(ref, annotations={"app": "demo"})
    assert ack == {"accepted": True, "error": ""}
    started = await rig.events.wait("provider_started", public_key=key)
    assert started["source"] == rig.host_id
    assert started["data"]["link_name"] == "default"
    assert started["data"]["contract_id"] == KV_CONTRACT
    assert started["data"]["image_ref"] == ref and started["data"]["annotations"] == {
        "app": "demo"}
    assert await native_providers(rig) == [(key, KV_CONTRACT, "default", ref)]
    await rig.hosts()  # a ping makes a heartbeat, which lists the provider
    mine = {"public_key": key, "link_name": "default", "contract_id": KV_CONTRACT}
    for _ in range(100):
        if any(mine in e["data"]["providers"] for e in rig.events.named("host_heartbeat")):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"no heartbeat listed the provider: "
                             f"{[e['data'] for e in rig.events.named('host_heartbeat')]}")
    await rig.link(key)
    stored = await rig.kv("Set", {"key": "colour", "value": "blue", "expires": 0})
    assert stored.error is None, stored.error
    got = await rig.kv("Get", "colour")
    assert got.error is None, got.error
    assert msgpack.unpackb(got.msg) == {"value": "blue", "exists": True}


async def test_health_checks_pass_then_report_status_at_each_interval(rig, tmp_path):
    ref, key = kv_par(tmp_path)
    await rig.started(ref, key)
    passed = await rig.events.wait("health_check_passed", public_key=key)
    assert passed["data"] == {"public_key": key, "contract_id": KV_CONTRACT,
                              "link_name": "default"}
    await rig.events.wait("health_check_status", public_key=key)
    for _ in range(100):
        if len(rig.events.named("health_check_status")) >= 2:
            break
        await asyncio.sleep(0.1)
    assert len(rig.events.named("health_check_status")) >= 2
    assert rig.events.named("health_check_failed") == []


async def test_a_provider_that_dies_is_restarted_and_serves_again(rig, tmp_path):
    ref, key = kv_par(tmp_path)
    before = (await rig.started(ref, key))["data"]["instance_id"]
    await rig.link(key)
    provider = rig.host.providers.find(key, "default")
    first = provider.pid
    os.kill(first, signal.SIGKILL)
    stopped = await rig.events.wait("provider_stopped", public_key=key)
    assert "killed by signal 9" in stopped["data"]["reason"]
    restarted = await rig.events.wait("provider_started", public_key=key, restarts=1)
    assert restarted["data"]["link_name"] == "default"
    assert provider.pid != first
    await rig.events.wait("health_check_passed", public_key=key)
    answer = await rig.kv("Contains", "anything")  # its links came with the host data
    assert answer.error is None and msgpack.unpackb(answer.msg) is False
    # a new instance, as the OTP host makes one per start: in the event and in its host data
    assert restarted["data"]["instance_id"] not in ("", before)
    assert stopped["data"]["instance_id"] == before
    assert await kv_instance(rig, key) == restarted["data"]["instance_id"]


async def test_a_provider_that_keeps_crashing_is_restarted_each_time(rig, tmp_path):
    path = tmp_path / "crashy.par"
    key = write_par(path, {platform_target(): b"#!/bin/sh\nsleep 1.5\n"
                                               b"echo 'lost the device' >&2\nexit 5\n"})
    await rig.lp(f"file://{path}")
    await rig.events.wait("provider_started", public_key=key)
    stopped = await rig.events.wait("provider_stopped", public_key=key)
    assert stopped["data"]["reason"] == (f"provider {key} exited with status 5 while running: "
                                         f"lost the device")
    await rig.events.wait("provider_started", public_key=key, restarts=1)
    await rig.events.wait("provider_started", public_key=key, restarts=2)
    assert len(await rig.hosts()) == 1


@pytest.mark.parametrize("configuration", [None, '{"answer_shutdown": false}'],
                         ids=["answering", "leaving-without-an-answer-as-the-go-sdk"])
async def test_sp_shuts_the_provider_down_quietly(rig, tmp_path, caplog, configuration):
    ref, key = kv_par(tmp_path)
    await rig.lp(ref, configuration=configuration)
    await rig.events.wait("provider_started", public_key=key)
    pid = rig.host.providers.find(key, "default").pid
    caplog.set_level(logging.INFO, logger="edgegate.providers.native")
    ack = await ctl_request(rig.nc, f"cmd.{rig.host_id}.sp",
                            {"provider_ref": key, "link_name": "default"})
    assert ack == {"accepted": True, "error": ""}
    stopped = await rig.events.wait("provider_stopped", public_key=key)
    assert stopped["data"]["reason"] == "normal"
    assert gone(pid)
    # an exit within the grace period is a normal stop: no word of answers or signals
    said = [r.getMessage() for r in caplog.records if r.name == "edgegate.providers.native"]
    assert not [line for line in said if "shutdown request" in line or "sent SIG" in line], said
    assert await native_providers(rig) == []
    again = await ctl_request(rig.nc, f"cmd.{rig.host_id}.sp",
                              {"provider_ref": key, "link_name": "default"})
    assert again["accepted"] is False and "does not run" in again["error"]


async def test_a_provider_that_stays_after_its_shutdown_request_is_signalled_away(rig, tmp_path,
                                                                                caplog):
    path = tmp_path / "stubborn.par"
    key = write_par(path, {platform_target(): b"#!/bin/sh\ntrap '' TERM\n"
                                               b"while :; do sleep 0.1; done\n"})
    await rig.lp(f"file://{path}")
    await rig.events.wait("provider_started", public_key=key)
    pid = rig.host.providers.find(key, "default").pid
    caplog.set_level(logging.INFO, logger="edgegate.providers.native")
    await ctl_request(rig.nc, f"cmd.{rig.host_id}.sp", {"provider_ref": key,
                                                         "link_name": "default"})
    stopped = await rig.events.wait("provider_stopped", public_key=key)
    assert stopped["data"]["reason"] == "normal"
    assert gone(pid)
    said = [r.getMessage() for r in caplog.records if r.name == "edgegate.providers.native"]
    assert f"provider {key} has not stopped on its shutdown request (no answer: " \
           f"NoRespondersError)" in said
    assert [line for line in said if "sent SIG" in line] == [
        f"provider {key}: sent SIGTERM", f"provider {key}: sent SIGKILL"]


async def test_stopping_the_host_stops_its_providers(rig, tmp_path):
    ref, key = kv_par(tmp_path)
    await rig.started(ref, key)
    pid = rig.host.providers.find(key, "default").pid
    await ctl_request(rig.nc, f"cmd.{rig.host_id}.stop", {"host_id": rig.host_id})
    stopped = await rig.events.wait("provider_stopped", public_key=key)
    assert stopped["data"]["reason"] == "host stopped"
    await rig.events.wait("host_stopped")
    assert gone(pid)


async def test_a_second_lp_of_the_same_provider_and_link_is_refused(rig, tmp_path):
    ref, key = kv_par(tmp_path)
    await rig.started(ref, key)
    again = await rig.lp(ref)
    assert again["accepted"] is False and "already runs" in again["error"]


async def test_a_provider_bid_is_withheld_where_it_already_runs(rig, tmp_path):
    from support.controlrig import ctl_gather
    ref, key = kv_par(tmp_path)
    asked = {"provider_ref": ref, "link_name": "default", "constraints": {}}
    assert [b["host_id"] for b in await ctl_gather(rig.nc, "auction.provider", asked)] == [
        rig.host_id]
    await rig.started(ref, key)
    assert await ctl_gather(rig.nc, "auction.provider", asked) == []


async def test_a_gateway_stopped_during_a_start_leaves_no_provider(nats_server, sim_boards,
                                                                   tmp_path, cluster_env,
                                                                   actors):
    rig = await make_rig(nats_server, sim_boards, tmp_path, cluster_env, actors)
    try:
        path = tmp_path / "deaf.par"  # a provider that never reads its stdin or a request
        key = write_par(path, {platform_target(): b"#!/bin/sh\nsleep 60\n"})
        await rig.lp(f"file://{path}")
        for _ in range(200):
            if provider_pids(key):
                break
            await asyncio.sleep(0.02)
        assert provider_pids(key), "the provider never ran"
    finally:
        await rig.gateway.stop()
        await rig.nc.close()
    for _ in range(200):
        if not provider_pids(key):
            break
        await asyncio.sleep(0.05)
    assert provider_pids(key) == []


# -- errors: each is an event with a one-line reason, and the gateway goes on


async def start_fails(rig, ref: str, **fields) -> str:
    assert (await rig.lp(ref, **fields))["accepted"] is True
    failed = await rig.events.wait("provider_start_failed", provider_ref=ref)
    error = failed["data"]["error"]
    assert "\n" not in error
    assert len(await rig.hosts()) == 1  # the gateway still serves
    return error


async def test_an_archive_without_a_binary_for_this_platform(rig, tmp_path):
    path = tmp_path / "elsewhere.par"
    write_par(path, {"riscv64-plan9": b"not for here"})
    error = await start_fails(rig, f"file://{path}")
    assert f"no binary for this platform {platform_target()}" in error
    assert "riscv64-plan9" in error


async def test_a_provider_that_exits_at_once(rig, tmp_path):
    path = tmp_path / "quits.par"
    write_par(path, {platform_target(): b"#!/bin/sh\necho 'cannot open /dev/kv0' >&2\nexit 3\n"})
    error = await start_fails(rig, f"file://{path}")
    assert "exited with status 3 at once: cannot open /dev/kv0" in error
    assert [e for e in rig.events.named("provider_started")
            if e["data"]["image_ref"] == f"file://{path}"] == []


async def test_bad_host_data_is_the_provider_s_one_line_refusal(rig, tmp_path):
    ref, _ = kv_par(tmp_path)
    error = await start_fails(rig, ref, configuration="{not json")
    assert "bad host data: config_json is not JSON" in error


async def test_host_data_the_gateway_cannot_build(rig, tmp_path):
    ref, _ = kv_par(tmp_path)
    missing = tmp_path / "gone.creds"
    rig.gateway.lattice.config.credentials = str(missing)  # as if deleted since the start
    error = await start_fails(rig, ref)
    assert f"its host data: credentials {missing}: No such file or directory" in error


async def test_a_provider_that_never_answers_health(rig, tmp_path):
    ref, key = kv_par(tmp_path)
    await rig.lp(ref, configuration='{"health": false}')
    await rig.events.wait("provider_started", public_key=key)
    failed = await rig.events.wait("health_check_failed", public_key=key)
    assert "nothing subscribes its health subject" in failed["data"]["message"] or \
        "no answer to the health check" in failed["data"]["message"]
    assert rig.events.named("health_check_passed") == []
    assert len(await rig.hosts()) == 1


async def test_an_archive_whose_binary_does_not_match_its_claims(rig, tmp_path):
    import tarfile
    good = tmp_path / "good.par"
    write_par(good, {platform_target(): kv_binary()})
    bad = tmp_path / "tampered.par"
    with tarfile.open(good) as source, tarfile.open(bad, "w") as out:
        for member in source:
            data = source.extractfile(member).read()
            if member.name.endswith(".bin"):
                data += b"# tampered\n"
                member.size = len(data)
            import io
            out.addfile(member, io.BytesIO(data))
    error = await start_fails(rig, f"file://{bad}")
    assert "hash" in error and platform_target() in error


async def test_an_archive_that_is_not_one(rig, tmp_path):
    path = tmp_path / "junk.par"
    path.write_bytes(b"this is not a tar")
    error = await start_fails(rig, f"file://{path}")
    assert "not a readable provider archive" in error


async def test_lp_from_an_oci_reference(nats_server, sim_boards, tmp_path, cluster_env, actors,
                                        oci_registry, monkeypatch):
    registry = oci_registry()
    monkeypatch.setenv("WASMCLOUD_OCI_ALLOWED_INSECURE", registry.host)
    path = tmp_path / "kv.par.gz"
    key = write_par(path, {platform_target(): kv_binary()})
    registry.raw_push("providers/kv", "0.1.0", [
        ("application/vnd.wasmcloud.provider.archive.layer.v1+par", path.read_bytes())])
    registry.raw_push("actors/not-a-provider", "0.1.0", [
        ("application/vnd.module.wasm.content.layer.v1+wasm", b"\0asm")])
    rig = await make_rig(nats_server, sim_boards, tmp_path, cluster_env, actors)
    try:
        ref = f"{registry.host}/providers/kv:0.1.0"
        await rig.lp(ref)
        started = await rig.events.wait("provider_started", public_key=key)
        assert started["data"]["image_ref"] == ref
        wrong = f"{registry.host}/actors/not-a-provider:0.1.0"
        error = await start_fails(rig, wrong)
        assert "no provider archive layer" in error
    finally:
        await rig.nc.close()
        await rig.gateway.stop()
