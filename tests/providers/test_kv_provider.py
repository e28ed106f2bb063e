"""The project's kv test provider on its own: it refuses every forgery by the check it breaks,
serves only linked actors, and `edgehost par create` packs it into an archive that verifies."""

from __future__ import annotations

import msgpack
import pytest
from latticekit.antiforgery import FORGERIES, forge
from latticekit.invocations import actor_entity, build_invocation, provider_entity
from latticekit.nkeypairs import NKey
from provider_rig import KV_CONTRACT, kv_par, make_rig
from support.controlrig import ctl_request

pytestmark = pytest.mark.nats


@pytest.fixture
async def running(nats_server, sim_boards, tmp_path, cluster_env, actors):
    rig = await make_rig(nats_server, sim_boards, tmp_path, cluster_env, actors)
    ref, key = kv_par(tmp_path)
    await rig.started(ref, key)
    await rig.link(key)
    try:
        yield rig, key
    finally:
        await rig.nc.close()
        await rig.gateway.stop()


async def ask(rig, key: str, inv: dict) -> dict:
    reply = await rig.nc.request(f"wasmbus.rpc.default.{key}.default", msgpack.packb(inv),
                                 timeout=5)
    return msgpack.unpackb(reply.data)


def invocation(rig, key: str, actor: str, kind: str | None = None) -> dict:
    signer = NKey.from_seed(rig.cluster.seed)
    args = (actor_entity(actor), provider_entity(key, KV_CONTRACT, "default"),
            "KeyValue.Contains", msgpack.packb("k"), rig.cluster.public_key)
    return forge(kind, signer, *args) if kind else build_invocation(signer, *args)


@pytest.mark.parametrize("kind", sorted(FORGERIES))
async def test_every_forgery_is_refused(running, kind):
    rig, key = running
    answer = await ask(rig, key, invocation(rig, key, rig.caller, kind))
    assert answer["error"].startswith("Anti-forgery check failed: "), answer
    assert answer["msg"] == b""


async def test_a_proper_invocation_from_a_linked_actor_is_served(running):
    rig, key = running
    answer = await ask(rig, key, invocation(rig, key, rig.caller))
    assert "error" not in answer and msgpack.unpackb(answer["msg"]) is False


async def test_an_actor_without_a_link_is_refused(running):
    rig, key = running
    stranger = "M" + "S" * 55
    answer = await ask(rig, key, invocation(rig, key, stranger))
    assert answer["error"] == f"actor {stranger} is not linked to provider {key}"
    await ctl_request(rig.nc, "linkdefs.del", {"actor_id": rig.caller,
                                               "contract_id": KV_CONTRACT,
                                               "link_name": "default"})
    for _ in range(50):  # linkdefs.del reaches the provider
        answer = await ask(rig, key, invocation(rig, key, rig.caller))
        if "error" in answer:
            break
    assert "is not linked" in answer["error"]


def test_par_create_packs_a_binary_whose_claims_verify(edgehost, tmp_path):
    binary = tmp_path / "provider.bin"
    binary.write_bytes(b"#!/bin/sh\nexit 0\n")
    out = tmp_path / "kv.par.gz"
    made = edgehost("par", "create", "--binary", binary, "--capid", KV_CONTRACT, "--name",
                    "kv store", "--arch", "x86_64-linux", "--destination", out, "--compress",
                    "--json")
    assert made.code == 0, made.err
    import json
    subject = json.loads(made.out)["subject"]
    assert subject.startswith("V")
    verified = edgehost("claims", "verify", out)
    assert verified.code == 0, verified.err
    shown = edgehost("claims", "inspect", out)
    assert f"Provider      {subject}" in shown.out.splitlines()
    assert "Contract id   wasmcloud:keyvalue" in shown.out.splitlines()


@pytest.mark.parametrize("change, words", [
    ({"--capid": "keyvalue"}, "--capid 'keyvalue': a contract id looks like"),
    ({"--arch": "Linux"}, "--arch 'Linux': a target is ARCH-OS"),
    ({"--binary": "missing.bin"}, "missing.bin: No such file or directory"),
    ({"--destination": "nowhere/kv.par"}, "--destination"),
])
def test_par_create_errors_are_one_line(edgehost, tmp_path, monkeypatch, change, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.bin").write_bytes(b"x")
    options = {"--binary": "p.bin", "--capid": KV_CONTRACT, "--name": "kv",
               "--destination": "kv.par", **change}
    made = edgehost("par", "create", *[part for pair in options.items() for part in pair])
    assert made.code == 1
    assert words in made.err and len(made.err.strip().splitlines()) == 1
