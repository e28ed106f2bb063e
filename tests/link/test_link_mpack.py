"""The board's msgpack codec: the bytes msgpack and umsgpack write, clear errors on bad input."""

from __future__ import annotations

import math

import msgpack
import pytest
import umsgpack
from hypothesis import given, settings
from hypothesis import strategies as st

from edgelink.mpack import MpackError, packb, unpackb

scalars = (st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1)
           | st.floats(allow_nan=False) | st.text(max_size=300) | st.binary(max_size=300))


def sorted_maps(children):
    # maps with sorted keys: the order our codec writes and the others keep
    return st.dictionaries(st.text(max_size=10), children, max_size=6).map(
        lambda d: dict(sorted(d.items())))


values = st.recursive(scalars, lambda c: st.lists(c, max_size=6) | sorted_maps(c),
                      max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(values)
def test_output_matches_msgpack_and_umsgpack_and_round_trips(value):
    ours = packb(value)
    assert ours == msgpack.packb(value, use_bin_type=True)
    assert ours == umsgpack.packb(value)
    assert unpackb(ours) == value


@settings(max_examples=200, deadline=None)
@given(values)
def test_we_decode_what_msgpack_writes(value):
    assert unpackb(msgpack.packb(value, use_bin_type=True)) == value


def test_map_keys_are_written_in_sorted_order_whatever_the_dict_order():
    assert packb({"b": 1, "a": 2}) == packb({"a": 2, "b": 1}) == msgpack.packb({"a": 2, "b": 1})


def test_float32_is_read():
    assert unpackb(b"\xca\x3f\xc0\x00\x00") == 1.5


def test_nan_round_trips():
    assert math.isnan(unpackb(packb(float("nan"))))


@pytest.mark.parametrize("data, rule", [
    (b"", "truncated"),
    (b"\xcd\x01", "truncated"),
    (b"\xa5abc", "truncated"),
    (b"\xc1", "0xc1 is not in the link's subset"),
    (b"\xd4\x01\x02", "0xd4 is not in the link's subset"),
    (b"\xa2\xff\xfe", "not UTF-8"),
    (b"\xdd\xff\xff\xff\xff", "longer than the data"),
    (b"\xdf\xff\xff\xff\xff", "longer than the data"),
    (b"\x81\x90\x01", "not a scalar"),
    (b"\x01\x02", "1 bytes left over"),
    (b"\x91" * 40 + b"\x01", "nesting deeper"),
])
def test_malformed_input_raises_one_clear_error(data, rule):
    with pytest.raises(MpackError, match=rule):
        unpackb(data)


@pytest.mark.parametrize("value, rule", [
    (2**64, "wider than 64 bits"), (-(2**63) - 1, "wider than 64 bits"),
    (object(), "cannot encode a object"), ({1, 2}, "cannot encode a set"),
])
def test_values_outside_the_subset_are_refused(value, rule):
    with pytest.raises(MpackError, match=rule):
        packb(value)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_decode_or_raise_mpack_error_only(data):
    try:
        unpackb(data)
    except MpackError:
        pass


def test_micropython_writes_the_same_bytes(board_python):
    cases = [None, True, False, 0, -1, -33, 127, 128, 65536, 2**32, 2**64 - 1, -(2**63), 1.25,
             "é" * 40, b"x" * 300, [1, [2, {}]], {"body": b"\x00", "id": 3, "t": "invoke"},
             "a" * 70000]
    out = board_python(
        "import binascii\nfrom edgelink.mpack import packb, unpackb\n"
        f"cases = {cases!r}\n"
        "for c in cases:\n"
        "    p = packb(c)\n"
        "    print(binascii.hexlify(p).decode(), unpackb(p) == c)\n"
    )
    lines = out.split("\n")
    for case, line in zip(cases, lines, strict=False):
        hexed, same = line.split()
        assert bytes.fromhex(hexed) == msgpack.packb(case, use_bin_type=True)
        assert same == "True"
