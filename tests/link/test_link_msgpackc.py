"""The gateway's msgpack in C and the board's mpack agree: each reads what the other writes, both
refuse the same input, and a link with one at each end carries every message of the catalogue."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from linkpair import LinkPair

from edgegate.devices import msgpackc
from edgelink import messages, mpack
from edgelink.mpack import MAX_DEPTH, MpackError

scalars = (st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1)
           | st.floats(allow_nan=False) | st.text(max_size=300) | st.binary(max_size=300))
keys = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(max_size=10) \
    | st.binary(max_size=10)
values = st.recursive(scalars, lambda c: st.lists(c, max_size=6)
                      | st.dictionaries(keys, c, max_size=6), max_leaves=25)

CODECS = {"mpack": (mpack.packb, mpack.unpackb), "C": msgpackc.CODEC}
BOTH_WAYS = [("mpack", "C"), ("C", "mpack")]


def nested(depth: int) -> list:
    """A scalar inside `depth` lists: mpack takes it while depth <= MAX_DEPTH."""
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value  # type: ignore[return-value]


@settings(max_examples=300, deadline=None)
@given(values)
def test_each_codec_reads_what_the_other_writes(value):
    for writer, reader in BOTH_WAYS:
        assert CODECS[reader][1](CODECS[writer][0](value)) == value


@pytest.mark.parametrize("size", [0, 15, 16, 31, 32, 255, 256, 65535, 65536])
def test_every_length_head_reads_the_same_both_ways(size):
    # fix, 8-, 16- and 32-bit heads of str, bin, array and map
    for value in ("é" * (size // 2) + "a" * (size % 2), b"\x00" * size, [0] * size,
                  {n: None for n in range(size)}):
        for writer, reader in BOTH_WAYS:
            assert CODECS[reader][1](CODECS[writer][0](value)) == value


@pytest.mark.parametrize("value", [0, -1, -32, -33, 127, 128, 255, 256, 2**16, 2**32 - 1, 2**32,
                                   2**63, 2**64 - 1, -(2**7), -(2**7) - 1, -(2**15) - 1,
                                   -(2**31) - 1, -(2**63), 1.5, float("inf")])
def test_integers_of_every_width_and_floats_read_the_same_both_ways(value):
    for writer, reader in BOTH_WAYS:
        assert CODECS[reader][1](CODECS[writer][0](value)) == value


def test_tuples_bytearrays_and_memoryviews_are_written_as_mpack_writes_them():
    value = {"list": (1, (2, 3)), "bin": bytearray(b"ab"), "view": memoryview(b"cd")}
    expected = {"list": [1, [2, 3]], "bin": b"ab", "view": b"cd"}
    for writer, reader in BOTH_WAYS:
        assert CODECS[reader][1](CODECS[writer][0](value)) == expected


def test_nesting_is_refused_by_both_past_the_same_depth():
    deepest = nested(MAX_DEPTH)
    for writer, reader in BOTH_WAYS:
        assert CODECS[reader][1](CODECS[writer][0](deepest)) == deepest
    too_deep = nested(MAX_DEPTH + 1)
    as_bytes = msgpack.packb(too_deep)
    for packb, unpackb in CODECS.values():
        with pytest.raises(MpackError, match="nesting deeper than 16"):
            packb(too_deep)
        with pytest.raises(MpackError, match="nesting deeper than 16"):
            unpackb(as_bytes)
        with pytest.raises(MpackError, match="nesting deeper than 16"):
            unpackb(b"\x81\xa1k" + msgpack.packb(nested(MAX_DEPTH)))  # a map counts too
        # msgpack's own limit is far deeper: a thousand levels are refused, not a crash
        with pytest.raises(MpackError):
            unpackb(b"\x91" * 3000 + b"\x01")


REFUSED_BYTES = [
    b"", b"\xcd\x01", b"\xa5abc",  # truncated
    b"\x01\x02",  # bytes left over after the value
    b"\xc1",  # never used
    b"\xd4\x01\x02", b"\xd5\x01\x02\x03", b"\xc7\x01\x05\x00", b"\xc8\x00\x01\x05\x00",
    b"\xd6\xff\x00\x00\x00\x01",  # ext types, and the timestamp among them
    b"\x92\xd6\xff\x00\x00\x00\x01\x01", b"\x81\xa1k\xd4\x01\x02",  # inside containers too
    b"\x81\xd6\xff\x00\x00\x00\x01\x01",  # a timestamp as a map key
    b"\xa2\xff\xfe",  # not UTF-8
    b"\xdd\xff\xff\xff\xff", b"\xdf\xff\xff\xff\xff",  # lengths beyond the data
    b"\x81\x90\x01", b"\x81\x80\x01",  # an array and a map as map keys
]


@pytest.mark.parametrize("data", REFUSED_BYTES, ids=lambda d: d.hex() or "empty")
def test_both_refuse_the_same_bytes_with_one_mpack_error(data):
    for _, unpackb in CODECS.values():
        with pytest.raises(MpackError) as refused:
            unpackb(data)
        assert "\n" not in str(refused.value) and str(refused.value).startswith("msgpack: ")


REFUSED_VALUES = [2**64, -(2**63) - 1, {1, 2}, object(), msgpack.ExtType(1, b"x"),
                  msgpack.Timestamp(1), [msgpack.Timestamp(1)], {"k": {2**64: 1}}]


@pytest.mark.parametrize("value", REFUSED_VALUES, ids=repr)
def test_both_refuse_the_same_values_with_one_mpack_error(value):
    if isinstance(value, msgpack.ExtType):  # a tuple to mpack: an array it writes
        assert mpack.unpackb(mpack.packb(value)) == list(value)
    else:
        with pytest.raises(MpackError):
            mpack.packb(value)
    with pytest.raises(MpackError):
        msgpackc.packb(value)


def test_a_string_that_is_not_unicode_is_refused_by_both():
    # mpack lets the str's own UnicodeError out; the C codec says it as an MpackError
    with pytest.raises(UnicodeError):
        mpack.packb("\udc80")
    with pytest.raises(MpackError, match="surrogates"):
        msgpackc.packb("\udc80")


def sample(kind: str) -> object:
    return {"str": "x", "int": 7, "bin": b"\x01" * 32, "map": {"a": 1}, "list": [1]}[kind]


def catalogue_messages() -> list[dict]:
    """One message of every type in the catalogue, with each field it needs (and a body)."""
    out = []
    for t, (_, _, fields, flags, _) in messages.CATALOGUE.items():
        msg = {"t": t, "id": 5, "link": "ab12cd34"}
        msg.update({name: sample(kind) for name, kind in fields})
        if messages.BODY in flags:
            msg["body"] = bytes(range(256))
        out.append(msg)
    return out


@pytest.mark.parametrize("msg", catalogue_messages(), ids=lambda m: m["t"])
def test_every_message_of_the_catalogue_reads_the_same_both_ways(msg):
    for writer, reader in BOTH_WAYS:
        body = CODECS[writer][0](msg)
        assert messages.decode(body, CODECS[reader]) == msg


def test_a_link_with_the_c_codec_at_the_gateway_and_mpack_at_the_board_carries_messages():
    pair = LinkPair(gateway_kwargs={"msgpack": msgpackc.CODEC})
    pair.connect()
    pair.hello()
    sent = {"t": "invoke", "actor": "M" + "A" * 55, "op": "Echo", "origin": "",
            "link": "ab12cd34", "body": bytes(64)}
    request_id = pair.gateway.send(dict(sent))
    pair.pump()
    assert pair.at_board[-1] == {**sent, "id": request_id}
    pair.board.send({"t": "invoke_result", "id": request_id, "body": b"\x00" * 64})
    pair.pump()
    assert pair.at_gateway[-1] == {"t": "invoke_result", "id": request_id, "body": bytes(64)}


def test_a_malformed_message_to_the_c_codec_s_end_is_answered_as_mpack_s_end_answers_it():
    answers = []
    for codec in (None, msgpackc.CODEC):
        pair = LinkPair(gateway_kwargs={"msgpack": codec})
        pair.connect()
        pair.hello()
        pair.board._send_packed(b"\x81\xa1t\xd4\x01\x02")  # an ext type: outside the subset
        pair.pump()
        assert pair.at_gateway == []
        errors = [m for m in pair.at_board if m["t"] == "error"]
        assert len(errors) == 1 and errors[0]["code"] == messages.MALFORMED
        answers.append(errors[0]["code"])
    assert answers[0] == answers[1]


def test_a_message_the_gateway_cannot_encode_is_one_clear_link_error():
    from edgelink.link import LinkError

    pair = LinkPair(gateway_kwargs={"msgpack": msgpackc.CODEC})
    pair.connect()
    pair.hello()
    with pytest.raises(LinkError, match="cannot encode invoke message: msgpack: "):
        pair.gateway.send({"t": "invoke", "actor": "a", "op": "b", "origin": 2**64})
