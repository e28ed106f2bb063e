"""The kit's wire facts against the spec's public check values, its keys against python-nkeys,
and its validator against its own signed and forged invocations."""

from __future__ import annotations

import json

import msgpack
import nkeys
import pytest

from latticekit.antiforgery import CHECKS, FORGERIES, SKIP, check_invocation, forge
from latticekit.invocations import (
    actor_entity,
    build_invocation,
    entity_url,
    invocation_hash,
    link_id,
    pack,
    pack_response,
    provider_entity,
    target_url,
    unb64url,
    unpack,
    unpack_response,
)
from latticekit.nkeypairs import NKey, verify

CLUSTER = NKey.generate("C")
ACTOR = NKey.generate("M").public_key
HOST = NKey.generate("N").public_key
PROVIDER = provider_entity(NKey.generate("V").public_key, "wasmcloud:testing", "default")


def test_invocation_hash_matches_the_otp_host_for_the_spec_strings():
    origin = provider_entity("i-am-provider-key", "wasmcloud:tester", "default")
    target = actor_entity("i-am-actor-key")  # not an M key, so the provider URL form applies
    assert target_url(target, "Derper.Derp") == "wasmbus:////i-am-actor-key/Derper.Derp"
    assert invocation_hash(entity_url(origin), target_url(target, "Derper.Derp"),
                           "Derper.Derp", b"yolo") == (
        "8727C1E88A26A4C2394B1299B18F684C3E7F78AA7551DC065C79F1600B29172D")


def test_invocation_hash_matches_provider_sdk_go_with_its_actor_url():
    assert invocation_hash("wasmbus://wasmcloud/tester/default/i-am-provider-key",
                           "wasmbus://i-am-actor-key/Derper.Derp", "Derper.Derp", b"yolo") == (
        "68B0A4763B1073A1B961B3EF8E8128BC38A65906310C074606CFA2193FE848D6")


def test_provider_url_follows_the_spec_example():
    entity = provider_entity("Vxxx", "wasmcloud:messaging", "default")
    assert target_url(entity, "OP_TESTING") == (
        "wasmbus://wasmcloud/messaging/default/Vxxx/OP_TESTING")


def test_actor_url_is_its_key_and_contract_spaces_become_underscores():
    assert entity_url(actor_entity(ACTOR)) == f"wasmbus://{ACTOR}"
    assert entity_url(provider_entity("Vk", "Acme:Big Thing", "Link A")) == (
        "wasmbus://acme/big_thing/link_a/Vk")


def test_link_id_matches_the_spec():
    assert link_id("Mbob", "wasmcloud:testy", "default") == (
        "B40411AD09B70A2C83D59923584F66BA2C5A3C274DC4F19416DA49CCD6531F9C")


@pytest.mark.parametrize("role", ["C", "N", "M", "V", "A"])
def test_generated_keys_have_their_role_letter_and_round_trip(role):
    key = NKey.generate(role)
    assert key.public_key[0] == role and len(key.public_key) == 56
    assert key.seed.startswith("S" + role)
    assert NKey.from_seed(key.seed).public_key == key.public_key


def test_cluster_keys_agree_with_python_nkeys():
    ours = NKey.generate("C")
    theirs = nkeys.from_seed(ours.seed.encode())
    assert theirs.public_key.decode() == ours.public_key
    assert theirs.verify(b"data", ours.sign(b"data"))
    assert verify(ours.public_key, b"data", theirs.sign(b"data"))


def test_verify_refuses_another_key_altered_data_and_non_keys():
    key, other = NKey.generate("C"), NKey.generate("C")
    signature = key.sign(b"data")
    assert verify(key.public_key, b"data", signature)
    assert not verify(other.public_key, b"data", signature)
    assert not verify(key.public_key, b"datA", signature)
    assert not verify("not-a-key", b"data", signature)


@pytest.mark.parametrize("seed, why", [
    ("SCnotbase32!!", "not base32"),
    (CLUSTER.seed[:10] + ("A" if CLUSTER.seed[10] != "A" else "B") + CLUSTER.seed[11:],
     "checksum"),
    (CLUSTER.public_key, "does not start with S"),
])
def test_a_bad_seed_is_one_clear_error(seed, why):
    with pytest.raises(ValueError, match=why):
        NKey.from_seed(seed)


def test_signed_invocation_has_the_spec_claims():
    inv = build_invocation(CLUSTER, PROVIDER, actor_entity(ACTOR), "Echo.Call", b"hi", HOST)
    head, body, _ = inv["encoded_claims"].split(".")
    assert json.loads(unb64url(head)) == {"typ": "jwt", "alg": "Ed25519"}
    claims = json.loads(unb64url(body))
    assert claims["iss"] == CLUSTER.public_key and claims["sub"] == inv["id"]
    assert len(claims["jti"]) == 22 and isinstance(claims["iat"], int)
    assert claims["wascap"] == {
        "target_url": f"wasmbus://{ACTOR}/Echo.Call",
        "origin_url": entity_url(PROVIDER),
        "hash": invocation_hash(entity_url(PROVIDER), f"wasmbus://{ACTOR}/Echo.Call",
                                "Echo.Call", b"hi"),
    }
    assert inv["content_length"] == 2 and inv["host_id"] == HOST
    assert all(not part.endswith("=") for part in inv["encoded_claims"].split("."))


def test_own_invocation_passes_every_check_after_the_wire():
    inv = build_invocation(CLUSTER, PROVIDER, actor_entity(ACTOR), "Echo.Call", b"hi", HOST)
    record = check_invocation(unpack(pack(inv)), [CLUSTER.public_key])
    assert record.passed and record.error is None
    assert list(record.checks) == list(CHECKS)


def test_empty_msg_skips_the_hash_as_the_otp_host_does():
    inv = build_invocation(CLUSTER, PROVIDER, actor_entity(ACTOR), "Echo.Call", b"", HOST)
    record = check_invocation(inv, [CLUSTER.public_key])
    assert record.checks["hash"] == SKIP and record.passed


def test_the_cluster_key_as_host_id_passes_and_a_short_bogus_one_fails():
    good = build_invocation(CLUSTER, PROVIDER, actor_entity(ACTOR), "Op", b"x",
                            CLUSTER.public_key)
    bad = build_invocation(CLUSTER, PROVIDER, actor_entity(ACTOR), "Op", b"x", "bogus")
    assert check_invocation(good, [CLUSTER.public_key]).passed
    assert check_invocation(bad, [CLUSTER.public_key]).failed == ["host_id"]


@pytest.mark.parametrize("kind", sorted(FORGERIES))
def test_each_forgery_fails_exactly_its_named_check(kind):
    inv = forge(kind, CLUSTER, PROVIDER, actor_entity(ACTOR), "Echo.Call", b"hi", HOST)
    record = check_invocation(unpack(pack(inv)), [CLUSTER.public_key])
    assert record.failed == [FORGERIES[kind]]
    assert record.error.startswith(f"Anti-forgery check failed: {FORGERIES[kind]}: ")
    assert not record.passed


def test_issuers_not_trusted_fail_only_the_issuer_check():
    inv = build_invocation(CLUSTER, PROVIDER, actor_entity(ACTOR), "Op", b"x", HOST)
    assert check_invocation(inv, [NKey.generate("C").public_key]).failed == ["issuer"]


def test_an_envelope_without_target_fails_the_url_checks_by_name():
    inv = build_invocation(CLUSTER, PROVIDER, actor_entity(ACTOR), "Op", b"x", HOST)
    del inv["target"]
    record = check_invocation(inv, [CLUSTER.public_key])
    assert record.failed == ["hash", "target_url", "origin_url"]
    assert "no usable origin/target/operation" in record.error


@pytest.mark.parametrize("field, value", [
    ("operation", 7), ("origin", ["not", "a", "map"]), ("target", {"public_key": 1}),
    ("origin", {"public_key": "Vk"}), ("encoded_claims", 42), ("host_id", None),
])
def test_a_malformed_envelope_fails_named_checks_instead_of_raising(field, value):
    inv = build_invocation(CLUSTER, PROVIDER, actor_entity(ACTOR), "Op", b"x", HOST)
    inv[field] = value
    record = check_invocation(inv, [CLUSTER.public_key])
    assert record.failed and record.error.startswith("Anti-forgery check failed: ")


def test_unknown_forgery_kind_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown forgery 'typo': expected one of bad_sig"):
        forge("typo", CLUSTER, PROVIDER, actor_entity(ACTOR), "Op", b"", HOST)


@pytest.mark.parametrize("wire_msg, expected", [
    (b"\x00\xff", b"\x00\xff"),  # bin
    ("plain text", b"plain text"),  # an OTP binary packed as str
    ([], b""),  # the OTP host's "actor not running" reply
])
def test_unpack_gives_msg_as_bytes_however_it_was_packed(wire_msg, expected):
    assert unpack(msgpack.packb({"msg": wire_msg}, use_bin_type=True))["msg"] == expected


def test_unpack_keeps_str_msg_that_is_not_utf8():
    raw = msgpack.packb({"msg": "x"})[:-1] + b"\xff"  # a str header with a non-UTF-8 byte
    assert unpack(raw)["msg"] == b"\xff"


@pytest.mark.parametrize("garbage, why", [(b"\xc1", "not msgpack"), (b"\x93\x01\x02\x03",
                                                                       "not a msgpack map")])
def test_unpack_garbage_is_one_clear_error(garbage, why):
    with pytest.raises(ValueError, match=why):
        unpack(garbage)


@pytest.mark.parametrize("wire_msg, kind", [
    (b"ok", "a msgpack bin"), ([], "a msgpack array"), (None, "a msgpack nil"),
])
def test_unpack_response_refuses_a_msg_that_is_not_str_as_the_go_sdk_does(wire_msg, kind):
    data = msgpack.packb({"msg": wire_msg, "invocation_id": "i"}, use_bin_type=True)
    with pytest.raises(ValueError, match=f"^response msg is {kind}, not a msgpack str"):
        unpack_response(data)


def test_unpack_response_refuses_a_response_without_msg():
    with pytest.raises(ValueError, match="^response msg is missing, not a msgpack str"):
        unpack_response(msgpack.packb({"invocation_id": "i", "error": "no"}))


def test_pack_response_and_unpack_response_keep_any_bytes():
    payload = bytes(range(256)) + b"\xed\xa0\x80"
    data = pack_response({"msg": payload, "invocation_id": "i"})
    assert data[1:5] == b"\xa3msg" and data[5] == 0xDA  # a str16 header, not bin
    assert unpack_response(data)["msg"] == payload
