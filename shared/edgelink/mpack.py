"""A small msgpack codec for the link: nil, bool, int (64-bit), float, str, bin, array, map.

PyPI's umsgpack does not import on MicroPython and CircuitPython's msgpack has another API,
so the board carries this one. Output is the shortest encoding, as msgpack and umsgpack write it,
with map keys in sorted order so that every interpreter produces the same bytes.
"""

import struct

MAX_DEPTH = 16


class MpackError(ValueError):
    pass


def packb(obj, out=None):
    """Encode obj; append to the bytearray out when given (and return it)."""
    buf = bytearray() if out is None else out
    _pack(obj, buf, 0)
    return buf if out is not None else bytes(buf)


def _pack(obj, buf, depth):
    if depth > MAX_DEPTH:
        raise MpackError("msgpack: nesting deeper than %d" % MAX_DEPTH)
    if obj is None:
        buf.append(0xC0)
    elif obj is True:
        buf.append(0xC3)
    elif obj is False:
        buf.append(0xC2)
    elif isinstance(obj, int):
        _pack_int(obj, buf)
    elif isinstance(obj, float):
        buf.append(0xCB)
        buf.extend(struct.pack(">d", obj))
    elif isinstance(obj, str):
        data = obj.encode("utf-8")
        _pack_head(buf, len(data), 0xA0, 32, 0xD9, 0xDA, 0xDB)
        buf.extend(data)
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        _pack_head(buf, len(obj), None, 0, 0xC4, 0xC5, 0xC6)
        buf.extend(obj)
    elif isinstance(obj, (list, tuple)):
        _pack_head(buf, len(obj), 0x90, 16, None, 0xDC, 0xDD)
        for item in obj:
            _pack(item, buf, depth + 1)
    elif isinstance(obj, dict):
        _pack_head(buf, len(obj), 0x80, 16, None, 0xDE, 0xDF)
        for key in _key_order(obj):
            _pack(key, buf, depth + 1)
            _pack(obj[key], buf, depth + 1)
    else:
        raise MpackError("msgpack: cannot encode a %s" % type(obj).__name__)


def _key_order(mapping):
    # MicroPython dicts do not keep insertion order: sorted keys give the same bytes everywhere
    try:
        return sorted(mapping)
    except TypeError:
        return list(mapping)


def _pack_head(buf, n, fix, fix_limit, op8, op16, op32):
    if fix is not None and n < fix_limit:
        buf.append(fix | n)
    elif op8 is not None and n < 0x100:
        buf.append(op8)
        buf.append(n)
    elif n < 0x10000:
        buf.append(op16)
        buf.extend(struct.pack(">H", n))
    elif n < 0x100000000:
        buf.append(op32)
        buf.extend(struct.pack(">I", n))
    else:
        raise MpackError("msgpack: length %d does not fit in 32 bits" % n)


def _pack_int(n, buf):
    if 0 <= n < 0x80 or -32 <= n < 0:
        buf.append(n & 0xFF)
    elif n >= 0:
        if n < 0x100:
            buf.append(0xCC)
            buf.append(n)
        elif n < 0x10000:
            buf.append(0xCD)
            buf.extend(struct.pack(">H", n))
        elif n < 0x100000000:
            buf.append(0xCE)
            buf.extend(struct.pack(">I", n))
        elif n < 0x10000000000000000:
            buf.append(0xCF)
            buf.extend(struct.pack(">Q", n))
        else:
            raise MpackError("msgpack: integer %d is wider than 64 bits" % n)
    elif n >= -0x80:
        buf.append(0xD0)
        buf.extend(struct.pack(">b", n))
    elif n >= -0x8000:
        buf.append(0xD1)
        buf.extend(struct.pack(">h", n))
    elif n >= -0x80000000:
        buf.append(0xD2)
        buf.extend(struct.pack(">i", n))
    elif n >= -0x8000000000000000:
        buf.append(0xD3)
        buf.extend(struct.pack(">q", n))
    else:
        raise MpackError("msgpack: integer %d is wider than 64 bits" % n)


# fixed-size formats: opcode -> (struct format, size)
_FIXED = {
    0xCA: (">f", 4), 0xCB: (">d", 8),
    0xCC: (">B", 1), 0xCD: (">H", 2), 0xCE: (">I", 4), 0xCF: (">Q", 8),
    0xD0: (">b", 1), 0xD1: (">h", 2), 0xD2: (">i", 4), 0xD3: (">q", 8),
}
# length-prefixed formats: opcode -> (kind, bytes of length)
_SIZED = {
    0xC4: ("bin", 1), 0xC5: ("bin", 2), 0xC6: ("bin", 4),
    0xD9: ("str", 1), 0xDA: ("str", 2), 0xDB: ("str", 4),
    0xDC: ("array", 2), 0xDD: ("array", 4),
    0xDE: ("map", 2), 0xDF: ("map", 4),
}


def unpackb(data):
    """Decode one msgpack value that fills data exactly; raise MpackError on anything else."""
    reader = _Reader(data)
    obj = reader.value(0)
    if reader.at != len(data):
        raise MpackError("msgpack: %d bytes left over after the value" % (len(data) - reader.at))
    return obj


class _Reader:
    def __init__(self, data):
        self.data = memoryview(data)
        self.at = 0

    def take(self, n):
        start = self.at
        if n > len(self.data) - start:
            raise MpackError("msgpack: truncated, needs %d more bytes at offset %d" % (n, start))
        self.at = start + n
        return self.data[start:start + n]

    def length(self, size):
        raw = self.take(size)
        n = 0
        for b in raw:
            n = (n << 8) | b
        return n

    def value(self, depth):
        if depth > MAX_DEPTH:
            raise MpackError("msgpack: nesting deeper than %d" % MAX_DEPTH)
        op = self.take(1)[0]
        if op < 0x80:
            return op
        if op >= 0xE0:
            return op - 0x100
        if 0x80 <= op <= 0x8F:
            return self.map(op & 0x0F, depth)
        if 0x90 <= op <= 0x9F:
            return self.array(op & 0x0F, depth)
        if 0xA0 <= op <= 0xBF:
            return self.text(op & 0x1F)
        if op == 0xC0:
            return None
        if op == 0xC2:
            return False
        if op == 0xC3:
            return True
        fixed = _FIXED.get(op)
        if fixed is not None:
            return struct.unpack(fixed[0], self.take(fixed[1]))[0]
        sized = _SIZED.get(op)
        if sized is None:
            raise MpackError("msgpack: type byte 0x%02x is not in the link's subset" % op)
        n = self.length(sized[1])
        kind = sized[0]
        if kind == "bin":
            return bytes(self.take(n))
        if kind == "str":
            return self.text(n)
        if kind == "array":
            return self.array(n, depth)
        return self.map(n, depth)

    def text(self, n):
        raw = self.take(n)
        try:
            return str(raw, "utf-8")
        except (UnicodeError, ValueError):
            raise MpackError("msgpack: string at offset %d is not UTF-8" % (self.at - n))

    def array(self, n, depth):
        # every element takes at least one byte, so a length beyond the data is a lie
        if n > len(self.data) - self.at:
            raise MpackError("msgpack: array of %d items is longer than the data" % n)
        return [self.value(depth + 1) for _ in range(n)]

    def map(self, n, depth):
        if 2 * n > len(self.data) - self.at:
            raise MpackError("msgpack: map of %d entries is longer than the data" % n)
        out = {}
        for _ in range(n):
            key = self.value(depth + 1)
            if isinstance(key, (list, dict)):
                raise MpackError("msgpack: map key at offset %d is not a scalar" % self.at)
            out[key] = self.value(depth + 1)
        return out
