"""Framing: COBS with a 0x00 delimiter, version byte, CRC32, bounded size, resynchronisation."""

from __future__ import annotations

import binascii
import zlib

import pytest

from edgegate.devices import cobsc
from edgelink import frame


def records_of(reader: frame.FrameReader, data: bytes) -> list[bytes]:
    return [bytes(r) for r in reader.feed(data)]


@pytest.mark.parametrize("size", [0, 1, 253, 254, 255, 508, 1019])
def test_a_framed_record_comes_back_whole_with_one_delimiter(size):
    record = bytes((i * 7) % 256 for i in range(size))
    wire = bytes(frame.FrameWriter(1024).encode(record))
    assert wire.count(0) == 1 and wire.endswith(b"\x00")
    assert records_of(frame.FrameReader(1024), wire) == [record]


def test_frame_layout_is_version_record_crc32_under_cobs():
    wire = bytes(frame.FrameWriter(64).encode(b"ab"))
    plain = bytearray(64)
    n = frame.cobs_decode(wire[:-1], len(wire) - 1, plain)
    assert bytes(plain[:n]) == b"\x01ab" + zlib.crc32(b"\x01ab").to_bytes(4, "big")


def test_records_split_across_many_feeds_are_reassembled():
    writer, reader = frame.FrameWriter(256), frame.FrameReader(256)
    wire = bytes(writer.encode(b"first")) + bytes(writer.encode(b"\x00second\x00"))
    got = []
    for i in range(len(wire)):
        got += records_of(reader, wire[i:i + 1])
    assert got == [b"first", b"\x00second\x00"]


def test_decoder_resynchronises_after_line_noise():
    writer, reader = frame.FrameWriter(256), frame.FrameReader(256)
    good = bytes(writer.encode(b"payload"))
    noise = b"\x13\x37\xff\x00\x02\x01\x00garbage" + good[:4]  # ends mid-frame
    assert records_of(reader, noise + b"\x00" + good) == [b"payload"]
    assert reader.drops.total() >= 2


def test_a_frame_with_one_flipped_bit_is_dropped_as_crc_or_cobs():
    writer, reader = frame.FrameWriter(256), frame.FrameReader(256)
    wire = bytearray(writer.encode(b"some record bytes"))
    wire[5] ^= 0x10
    assert records_of(reader, bytes(wire)) == []
    assert set(reader.drops.counts) <= {"crc", "cobs"} and reader.drops.total() == 1


def test_a_frame_of_another_version_is_dropped():
    plain = bytearray(b"\x02hello")
    plain += zlib.crc32(plain).to_bytes(4, "big")
    wire = bytearray(32)
    n = frame.cobs_encode(plain, len(plain), wire)
    reader = frame.FrameReader(64)
    assert records_of(reader, bytes(wire[:n])) == []
    assert reader.drops.counts == {"version": 1}


def test_oversize_input_is_skipped_to_the_next_delimiter_without_growing():
    writer, reader = frame.FrameWriter(256), frame.FrameReader(256)
    buffers = (len(reader._raw), len(reader._plain))
    flood = b"\x05" * 100_000
    assert records_of(reader, flood + b"\x00" + bytes(writer.encode(b"after"))) == [b"after"]
    assert reader.drops.counts == {"oversize": 1}
    assert (len(reader._raw), len(reader._plain)) == buffers


def test_writer_refuses_a_record_larger_than_max_frame_with_a_clear_error():
    with pytest.raises(ValueError, match="frame too large: record of 300 bytes"):
        frame.FrameWriter(256).encode(b"x" * 300)


def test_drop_reasons_are_logged_once_and_counted_always():
    lines: list[str] = []
    reader = frame.FrameReader(64, frame.Drops(lines.append))
    for _ in range(5):
        records_of(reader, b"\x09junk\x00")
    assert reader.drops.counts == {"cobs": 5}
    assert len(lines) == 1 and "cobs" in lines[0]


def test_table_crc32_matches_binascii():
    data = bytes(range(256)) * 3
    assert frame._table_crc32(data) == binascii.crc32(data)


def test_frames_decode_on_the_board_interpreters(board_python):
    out = board_python(
        "from edgelink import frame\n"
        "w = frame.FrameWriter(512); r = frame.FrameReader(512)\n"
        "ok = 0\n"
        "for size in (0, 1, 254, 255, 300, 507):\n"
        "    rec = bytes((i * 7) % 256 for i in range(size))\n"
        "    wire = b'noise\\x00' + bytes(w.encode(rec))\n"
        "    got = [bytes(x) for x in r.feed(wire)]\n"
        "    ok += got == [rec]\n"
        "print(ok, frame._table_crc32(b'123456789') == 0xCBF43926)\n"
    )
    assert out.split() == ["6", "True"]


RECORDS = [bytes(0), bytes(64), bytes(range(1, 255)), bytes(range(1, 255)) * 2 + b"\x00",
           bytes(range(256)) * 3, bytes((i * 7) % 256 for i in range(1019))]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: f"{len(r)}B")
def test_frames_of_the_gateway_s_c_cobs_and_the_board_s_own_read_each_other(record):
    # a block of 254 non-zero bytes at the end is where the two encoders differ
    gateway = frame.FrameWriter(1024, cobsc.cobs_encode)
    board = frame.FrameWriter(1024)
    wire = bytes(gateway.encode(record))
    assert records_of(frame.FrameReader(1024), wire) == [record]
    reader = frame.FrameReader(1024, decode=cobsc.cobs_decode)
    assert records_of(reader, bytes(board.encode(record)) + wire) == [record, record]


@pytest.mark.parametrize("garbage", [b"\x05ab\x00", b"\x01" * 40 + b"\x00", b"\xff" + b"a" * 300
                                     + b"\x00", bytes(range(1, 200)) + b"\x00"])
def test_the_gateway_s_c_cobs_drops_what_the_board_s_own_drops(garbage):
    board = frame.FrameReader(256)
    gateway = frame.FrameReader(256, decode=cobsc.cobs_decode)
    assert records_of(board, garbage) == records_of(gateway, garbage) == []
    assert board.drops.counts == gateway.drops.counts != {}
