"""Payloads over 900 KiB go through the lattice's object store both ways (spec §2).

No profile of ours lets an actor take a megabyte in one call (ESP32 RAM), so the board here
runs a lab profile of the test's own, from a profiles folder given to the simulator.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support.latticerig import serving, signed_actor, start_gateway, wait_for, write_registry

from edgegate.jetstream.entries import LinkDefinition

pytestmark = pytest.mark.nats

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = "wasmcloud:example"
MIB = 1024 * 1024


@pytest.fixture
def lab_profile(tmp_path, monkeypatch):
    folder = tmp_path / "profiles"
    shutil.copytree(ROOT / "hardware" / "profiles", folder)
    lab = json.loads((folder / "esp32-s3-devkitc-n8r8.json").read_text())
    lab["name"] = "lab-bench"
    lab["limits"].update(actor_ram_bytes=64 * MIB, max_pages_per_actor=256,
                         max_payload=4 * MIB)
    (folder / "lab-bench.json").write_text(json.dumps(lab))
    monkeypatch.setenv("EDGEHOST_PROFILES_DIR", str(folder))
    return "lab-bench"


async def test_a_megabyte_each_way_goes_through_the_object_store(
        nats_server, sim_boards, actors, tmp_path, cluster_env, plain_providers, lab_profile):
    board = sim_boards("lab", "--profile", lab_profile)
    echo, echo_key = signed_actor(actors["echo"], "echo", caps=[CONTRACT])
    caller, caller_key = signed_actor(actors["caller"], "caller", caps=[CONTRACT])
    await board.install(echo, caller)
    provider = await plain_providers(nats_server.url, contract_id=CONTRACT,
                                     cluster_seed=cluster_env["WASMCLOUD_CLUSTER_SEED"])
    gw = await start_gateway(write_registry(tmp_path / "boards.json", board.registry_entry()),
                             nats_server.url, cluster_env)
    try:
        await wait_for(serving(gw, "lab", 2), what="both actors served")
        # in: the provider chunks its 1.2 MiB invocation; our 1.2 MiB answer is chunked back
        payload = bytes(range(256)) * (1200 * 1024 // 256)
        answer = await provider.invoke_actor(echo_key, "Echo", payload, timeout=30)
        assert "error" not in answer, answer.get("error")
        assert answer["msg"] == payload
        assert answer["content_length"] == len(payload)
        # out: the actor's 800 KiB host call is chunked to the provider, whose 1.1 MiB
        # answer comes back through the store too
        await gw.lattice.metadata.put_link(LinkDefinition(
            actor_id=caller_key, provider_id=provider.public_key, contract_id=CONTRACT))
        await provider.wait_for_link(caller_key)
        provider.handlers["Example.Grow"] = lambda inv: bytes(inv["msg"]) + b"+" * (300 * 1024)
        sent = b"x" * (800 * 1024)
        answer = await provider.invoke_actor(
            caller_key, "Call", f"default|{CONTRACT}|Example.Grow|".encode() + sent, timeout=30)
        assert "error" not in answer, answer.get("error")
        assert answer["msg"] == sent + b"+" * (300 * 1024)
        grow = next(r for r in provider.invocations if r.operation == "Example.Grow")
        assert grow.chunked and grow.passed  # came through the store, checks and all
    finally:
        await gw.stop()
