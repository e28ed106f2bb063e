"""The streaming wasm section reader, on CPython and under MicroPython."""

from __future__ import annotations

import io

import pytest

from edgemodule.wasmsections import SectionReader, WasmFormatError


def custom_section(name: bytes, payload: bytes) -> bytes:
    body = bytes([len(name)]) + name + payload
    assert len(body) < 128
    return bytes([0, len(body)]) + body


MODULE = b"\x00asm\x01\x00\x00\x00" + custom_section(b"jwt", b"token") + b"\x01\x04\x01\x60\x00\x00"


def walk(data: bytes):
    reader = SectionReader(io.BytesIO(data), size=len(data))
    reader.read_header()
    out = []
    while (section := reader.next_section()) is not None:
        sid, header, size, name = section
        out.append((sid, header, name, reader.read()))
    return out


def test_sections_and_their_exact_record_bytes():
    sections = walk(MODULE)
    assert [(s[0], s[2], s[3]) for s in sections] == [
        (0, "jwt", b"token"),
        (1, None, b"\x01\x60\x00\x00"),
    ]
    rebuilt = MODULE[:8] + b"".join(s[1] + s[3] for s in sections)
    assert rebuilt == MODULE


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x7fELF\x02\x01\x01\x00", "not a WebAssembly module"),
        (b"\x00asm\x02\x00\x00\x00", "unsupported WebAssembly version"),
        (MODULE[:-2], "runs past the end"),
        (b"\x00asm\x01\x00\x00\x00\x00\x03\x09ab", "name length 9 runs past"),
        (b"\x00asm\x01\x00\x00\x00\x01\xff\xff\xff\xff\xff", "LEB128 longer than 5 bytes"),
    ],
    ids=["not-wasm", "version", "section-past-end", "name-past-end", "leb-too-long"],
)
def test_malformed_modules_are_refused_with_the_reason(data, message):
    with pytest.raises(WasmFormatError, match=message):
        walk(data)


def test_truncated_stream_of_unknown_size_is_detected():
    reader = SectionReader(io.BytesIO(MODULE[:-2]))
    reader.read_header()
    reader.next_section()
    with pytest.raises(WasmFormatError, match="truncated module"):
        reader.next_section()
        reader.skip()


def test_section_reader_runs_on_the_board_interpreters(board_python):
    out = board_python(
        "import io\n"
        "from edgemodule.wasmsections import SectionReader\n"
        f"data = {MODULE!r}\n"
        "r = SectionReader(io.BytesIO(data), size=len(data), chunk_size=2)\n"
        "r.read_header()\n"
        "while True:\n"
        "    s = r.next_section()\n"
        "    if s is None: break\n"
        "    print(s[0], s[3], b''.join(bytes(c) for c in r.chunks()))\n"
    )
    assert out.splitlines() == ["0 jwt b'token'", "1 None b'\\x01`\\x00\\x00'"]
