"""COBS in C for the gateway's end of the link, shaped as edgelink.frame's pure-Python pair.

The board keeps frame.py's own loop (one Python turn per zero byte); on the gateway the same
loop was the largest part of the link's cost per call. Both encoders' output decodes with
either decoder: where they differ (a block of 254 non-zero bytes at the very end, after which
frame.py writes an empty block and this one writes none) COBS means the same bytes.
"""

from __future__ import annotations

from cobs import cobs


def cobs_encode(src: bytearray, n: int, dst: bytearray) -> int:
    """COBS-encode src[:n] into dst, append the delimiter; return the bytes written."""
    encoded = cobs.encode(src[:n])  # a copy: the C code takes no memoryview
    end = len(encoded)
    dst[:end] = encoded
    dst[end] = 0
    return end + 1


def cobs_decode(src: bytearray, n: int, dst: bytearray) -> int:
    """Decode the COBS block src[:n] (no delimiter) into dst; return its length, -1 if invalid."""
    try:
        plain = cobs.decode(src[:n])
    except cobs.DecodeError:
        return -1
    size = len(plain)
    if size > len(dst):
        return -1
    dst[:size] = plain
    return size


CODEC = (cobs_encode, cobs_decode)
