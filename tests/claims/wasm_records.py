"""Independent helpers for the claims tests: wasm records built and walked by hand."""

from __future__ import annotations


def uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def custom(name: str, payload: bytes) -> bytes:
    body = uleb(len(name)) + name.encode() + payload
    return b"\x00" + uleb(len(body)) + body


def records(module: bytes) -> list[tuple[int, str | None, int, int, int]]:
    """(section id, custom name, record start, payload start, end) of each section record."""
    out, pos = [], 8
    while pos < len(module):
        start, section_id = pos, module[pos]
        pos += 1
        size = shift = 0
        while True:
            byte = module[pos]
            pos += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        end, name = pos + size, None
        if section_id == 0:
            name_len = module[pos]
            name = module[pos + 1 : pos + 1 + name_len].decode()
            pos += 1 + name_len
        out.append((section_id, name, start, pos, end))
        pos = end
    return out


def claims_payloads(module: bytes) -> list[bytes]:
    """The payloads of the module's jwt / wasmcloud_jwt sections."""
    found = []
    for _, name, _, payload, end in records(module):
        if name in ("jwt", "wasmcloud_jwt"):
            found.append(module[payload:end])
    return found
