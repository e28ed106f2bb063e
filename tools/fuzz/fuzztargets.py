"""The fuzz targets: each takes arbitrary bytes and fails only on a bug of the code under test.

A target raises nothing for input its decoder accepts or refuses with its own error type;
any other exception, or an accepted value that breaks a stated property, is a finding. The
suite's short run (tests/fuzz) and the long run (tools/fuzz/run.py) call the same targets.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import msgpack

from edgegate.rpc.invocation import EnvelopeError, Invocation, InvocationResponse
from edgegate.wascap import tokens
from edgegate.wascap.modules import SignedModule
from edgelink import messages, mpack
from edgelink.frame import FrameReader, FrameWriter
from edgemodule.claimcheck import ClaimsError, scan
from edgemodule.fit import HOST_FUNCTIONS
from edgemodule.wasminspect import LimitBroken, inspect_bytes
from edgemodule.wasmsections import SectionReader, WasmFormatError

MAX_FRAME = 256


def same(a: object, b: object) -> bool:
    """Equal, with NaN equal to itself (msgpack floats may be NaN)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        # key order is not part of a map (packb writes keys in its own order)
        return len(a) == len(b) and all(
            any(same(ka, kb) and same(va, vb) for kb, vb in b.items()) for ka, va in a.items())
    return type(a) is type(b) and a == b


def frame_decoder(data: bytes) -> None:
    """Any bytes fed in any slicing give only records that fit; a framed record comes back."""
    reader = FrameReader(MAX_FRAME)
    cut = data[0] % (len(data) + 1) if data else 0
    records = [bytes(r) for r in reader.feed(data[:cut])]
    records += [bytes(r) for r in reader.feed(data[cut:])]
    for record in records:
        assert len(record) <= MAX_FRAME, "a record longer than max_frame was yielded"
    record = data[:MAX_FRAME - 5]
    wire = bytes(FrameWriter(MAX_FRAME).encode(record))
    assert [bytes(r) for r in FrameReader(MAX_FRAME).feed(b"\x00" + wire + b"\x00")] == [record]


def message_decoder(data: bytes) -> None:
    """decode() returns a checked message or raises MessageError; an accepted one re-encodes
    to a message that decodes the same."""
    try:
        msg = messages.decode(data)
    except messages.MessageError as exc:
        assert isinstance(exc.code, str) and str(exc)
        return
    assert same(messages.decode(mpack.packb(msg)), msg)


def msgpack_codec(data: bytes) -> None:
    """unpackb() returns a value or raises MpackError; what it accepts the msgpack library
    reads the same, and packing it again gives bytes that decode to it."""
    try:
        value = mpack.unpackb(data)
    except mpack.MpackError:
        return
    theirs = msgpack.unpackb(data, raw=False, strict_map_key=False)
    assert same(value, theirs), "msgpack reads %r, edgelink %r" % (theirs, value)
    assert same(mpack.unpackb(mpack.packb(value)), value)


def wasm_sections(data: bytes) -> None:
    """Walking the sections and scanning for claims raise only WasmFormatError/ClaimsError."""
    reader = SectionReader(io.BytesIO(data), len(data), chunk_size=64)
    try:
        reader.read_header()
        while reader.next_section() is not None:
            reader.skip()
    except WasmFormatError:
        pass
    try:
        scan(io.BytesIO(data), len(data), chunk_size=64)
    except (WasmFormatError, ClaimsError):
        pass


def wasm_inspector(data: bytes) -> None:
    """inspect_bytes() and check() raise only WasmFormatError/LimitBroken."""
    try:
        inspect_bytes(data).check(HOST_FUNCTIONS, 16)
    except (WasmFormatError, LimitBroken):
        pass


def jwt_claims(data: bytes) -> None:
    """A token parsed and verified from any text raises only ClaimsError; so does a module's
    claims check."""
    text = data.decode("utf-8", "replace")
    try:
        tokens.verify(text)
    except ClaimsError as exc:
        assert str(exc)
    try:
        SignedModule(data).verify()
    except (ClaimsError, WasmFormatError):
        pass


def invocation_decoder(data: bytes) -> None:
    """Invocation and response envelopes decode or raise EnvelopeError; a decoded one packs."""
    for kind in (Invocation, InvocationResponse):
        try:
            decoded = kind.unpack(data)
        except EnvelopeError as exc:
            assert str(exc)
            continue
        kind.unpack(decoded.pack())


TARGETS: dict[str, Callable[[bytes], None]] = {
    "frame_decoder": frame_decoder,
    "message_decoder": message_decoder,
    "msgpack_codec": msgpack_codec,
    "wasm_sections": wasm_sections,
    "wasm_inspector": wasm_inspector,
    "jwt_claims": jwt_claims,
    "invocation_decoder": invocation_decoder,
}
