"""The invocation envelope decoded as liberally as wasmCloud peers send it, and the spec's
anti-forgery check values."""

from __future__ import annotations

import msgpack
import pytest

from edgegate.rpc import antiforgery
from edgegate.rpc.invocation import Entity, EnvelopeError, Invocation, InvocationResponse
from edgegate.wascap import KeyPair

ACTOR = "M" + "A" * 55


def envelope(**fields) -> bytes:
    base = {"origin": {"public_key": ACTOR, "link_name": "", "contract_id": ""},
            "target": {"public_key": ACTOR, "link_name": "", "contract_id": ""},
            "operation": "Echo", "msg": b"hi", "id": "abc", "encoded_claims": "x.y.z",
            "host_id": "N" + "B" * 55}
    base.update(fields)
    return msgpack.packb({k: v for k, v in base.items() if v is not None}, use_bin_type=True)


def test_msg_packed_as_str_as_elixir_does_is_read_as_its_bytes():
    data = msgpack.packb({**msgpack.unpackb(envelope(), raw=False), "msg": "h\u00e9"},
                         use_bin_type=False)
    assert Invocation.unpack(data).msg == "h\u00e9".encode()


def test_an_empty_array_msg_and_missing_optional_fields_are_accepted():
    inv = Invocation.unpack(envelope(msg=[], content_length=None, host_id=None))
    assert inv.msg == b"" and inv.content_length is None and inv.host_id == ""


def test_the_response_a_success_sends_has_no_error_key_and_its_length():
    packed = msgpack.unpackb(InvocationResponse("abc", b"ok").pack(), raw=False)
    assert "error" not in packed
    assert packed["invocation_id"] == "abc" and packed["content_length"] == 2


@pytest.mark.parametrize("msg", [b"", b"ok", bytes(range(256)) * 300, b"\xff\xfe" * 20],
                         ids=["empty", "fixstr", "str32", "not-utf8"])
def test_a_response_msg_is_packed_as_str_holding_its_raw_bytes_and_an_invocation_as_bin(msg):
    # the OTP host's way, which wasmCloud's Go provider SDK relies on for responses
    response = msgpack.unpackb(InvocationResponse("abc", msg, error="e").pack(), raw=False,
                               unicode_errors="surrogateescape")
    assert response["msg"].encode("utf-8", "surrogateescape") == msg
    assert InvocationResponse.unpack(InvocationResponse("abc", msg).pack()).msg == msg
    invocation = msgpack.unpackb(Invocation(Entity.actor(ACTOR), Entity.actor(ACTOR), "Echo",
                                            msg).pack(), raw=False)
    assert invocation["msg"] == msg


def test_an_otp_actor_not_running_reply_decodes():
    data = msgpack.packb({"msg": [], "error": "Actor not running"}, use_bin_type=True)
    answer = InvocationResponse.unpack(data)
    assert answer.error == "Actor not running" and answer.msg == b""
    assert answer.invocation_id == ""


@pytest.mark.parametrize(("data", "message"), [
    (b"\xc1", "invocation: not msgpack"),
    (msgpack.packb([1]), "invocation: expected a msgpack map, got list"),
    (envelope(origin="M"), "invocation origin: expected a map, got str"),
    (envelope(target={"link_name": ""}), "invocation target.public_key: missing or empty"),
    (envelope(content_length=-3), "invocation content_length: expected an unsigned integer"),
    (envelope(msg={"a": 1}), "invocation msg: expected bytes, got dict"),
])
def test_an_unreadable_envelope_names_the_field(data, message):
    with pytest.raises(EnvelopeError, match="^" + message):
        Invocation.unpack(data)


def test_the_spec_check_values_with_the_otp_url_rules():
    # provider-sdk-go's value types the target as an actor; the OTP host picks the URL form
    # by the key's M prefix, so for these non-M strings it gets the second value (spec §3)
    origin = Entity("i-am-provider-key", "default", "wasmcloud:tester")
    target = Entity("i-am-actor-key")
    inv = Invocation(origin, target, "Derper.Derp", b"yolo")
    assert antiforgery.target_url(inv) == "wasmbus:////i-am-actor-key/Derper.Derp"
    assert antiforgery.invocation_hash(origin.url(), antiforgery.target_url(inv),
                                       "Derper.Derp", b"yolo") == \
        "8727C1E88A26A4C2394B1299B18F684C3E7F78AA7551DC065C79F1600B29172D"
    assert antiforgery.invocation_hash(origin.url(), "wasmbus://i-am-actor-key/Derper.Derp",
                                       "Derper.Derp", b"yolo") == \
        "68B0A4763B1073A1B961B3EF8E8128BC38A65906310C074606CFA2193FE848D6"
    provider = Entity("Vxxx", "default", "wasmcloud:messaging")
    assert antiforgery.target_url(Invocation(origin, provider, "OP_TESTING", b"")) == \
        "wasmbus://wasmcloud/messaging/default/Vxxx/OP_TESTING"


def test_our_own_signed_invocation_passes_and_a_chunked_one_skips_the_hash():
    cluster = KeyPair.generate("cluster")
    inv = Invocation(Entity.actor(ACTOR), Entity.actor(ACTOR), "Echo", b"payload",
                     host_id="N" + "C" * 55)
    antiforgery.sign(inv, cluster)
    antiforgery.validate(Invocation.unpack(inv.pack()), {cluster.public_key})
    inv.content_length, inv.msg = 7, b""  # the payload went to the object store
    antiforgery.validate(Invocation.unpack(inv.pack()), {cluster.public_key})


def test_a_host_id_that_is_neither_a_host_key_nor_56_long_is_refused():
    cluster = KeyPair.generate("cluster")
    inv = Invocation(Entity.actor(ACTOR), Entity.actor(ACTOR), "Echo", b"x", host_id="bogus")
    antiforgery.sign(inv, cluster)
    with pytest.raises(antiforgery.ForgeryError, match="bad host id"):
        antiforgery.validate(inv, {cluster.public_key})
