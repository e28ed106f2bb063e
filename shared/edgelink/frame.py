"""Frames on the wire: COBS-encoded, 0x00-delimited, with a version byte and a CRC32."""

import binascii

VERSION = 1
DELIMITER = b"\x00"
# version byte in front, CRC32 behind the record
OVERHEAD = 5
DEFAULT_MAX_FRAME = 1024

# why a frame was dropped (Drops counts them by these names)
DROP_OVERSIZE = "oversize"
DROP_COBS = "cobs"
DROP_SHORT = "short"
DROP_VERSION = "version"
DROP_CRC = "crc"
# the drops that mean bytes arrived that are not frames: a wrong speed, or not a board
LINE_NOISE = (DROP_CRC, DROP_COBS, DROP_SHORT, DROP_OVERSIZE, DROP_VERSION)


def _table_crc32(data, crc=0):
    # Fallback for ports built without binascii.crc32; same polynomial as zlib.
    crc ^= 0xFFFFFFFF
    table = _crc_table()
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


_TABLE = []


def _crc_table():
    if not _TABLE:
        for n in range(256):
            c = n
            for _ in range(8):
                c = (0xEDB88320 ^ (c >> 1)) if c & 1 else (c >> 1)
            _TABLE.append(c)
    return _TABLE


crc32 = getattr(binascii, "crc32", _table_crc32)


def wire_size(max_frame):
    """Largest encoded size (COBS code bytes and delimiter included) of a max_frame frame."""
    return max_frame + max_frame // 254 + 2


def cobs_encode(src, n, dst):
    """COBS-encode src[:n] into dst, append the delimiter; return the bytes written."""
    view = memoryview(src)
    o = 0
    i = 0
    while True:
        z = _find_zero(src, i, n)
        while z - i >= 254:
            dst[o] = 255
            dst[o + 1:o + 255] = view[i:i + 254]
            o += 255
            i += 254
        run = z - i
        dst[o] = run + 1
        dst[o + 1:o + 1 + run] = view[i:z]
        o += run + 1
        if z >= n:
            break
        i = z + 1
    dst[o] = 0
    return o + 1


def _find_zero(buf, start, end):
    z = buf.find(DELIMITER, start, end)
    return end if z < 0 else z


def cobs_decode(src, n, dst):
    """Decode the COBS block src[:n] (no delimiter) into dst; return its length, -1 if invalid."""
    view = memoryview(src)
    i = 0
    o = 0
    limit = len(dst)
    while i < n:
        code = src[i]
        if code == 0:
            return -1
        end = i + code
        if end > n:
            return -1
        run = code - 1
        if o + run > limit:
            return -1
        dst[o:o + run] = view[i + 1:end]
        o += run
        i = end
        if code != 255 and i < n:
            if o >= limit:
                return -1
            dst[o] = 0
            o += 1
    return o


class Drops:
    """Counts dropped frames by reason and logs each reason the first time it happens."""

    def __init__(self, log=None):
        self.counts = {}
        self._log = log
        self.on_drop = None  # on_drop(reason, detail) for an owner that acts on drops

    def add(self, reason, detail=""):
        seen = self.counts.get(reason, 0)
        self.counts[reason] = seen + 1
        if self.on_drop is not None:
            self.on_drop(reason, detail)
        if seen == 0 and self._log is not None:
            self._log("edgelink: dropped a frame (%s)%s; further ones are only counted"
                      % (reason, (": " + detail) if detail else ""))

    def total(self):
        return sum(self.counts.values())


class FrameWriter:
    """Encodes records into frames in one preallocated wire buffer."""

    def __init__(self, max_frame=DEFAULT_MAX_FRAME, encode=cobs_encode):
        self.max_frame = max_frame
        self._encode = encode  # cobs_encode, or a faster one of the same shape (gateway)
        self._plain = bytearray(max_frame)
        self._wire = bytearray(wire_size(max_frame))
        self._wire_view = memoryview(self._wire)

    def encode(self, a, b=b"", c=b""):
        """Frame the record a+b+c; return a view of the wire bytes, valid until the next call."""
        plain = self._plain
        end = 1 + len(a) + len(b) + len(c)
        if end + 4 > self.max_frame:
            raise ValueError("frame too large: record of %d bytes, max_frame %d allows %d"
                             % (end - 1, self.max_frame, self.max_frame - OVERHEAD))
        plain[0] = VERSION
        at = 1
        for part in (a, b, c):
            plain[at:at + len(part)] = part
            at += len(part)
        crc = crc32(memoryview(plain)[:end]) & 0xFFFFFFFF
        plain[end] = crc >> 24
        plain[end + 1] = (crc >> 16) & 0xFF
        plain[end + 2] = (crc >> 8) & 0xFF
        plain[end + 3] = crc & 0xFF
        n = self._encode(plain, end + 4, self._wire)
        return self._wire_view[:n]


class FrameReader:
    """Resynchronising decoder: feed it any bytes, it yields the records of valid frames.

    Memory is two preallocated buffers; a frame longer than max_frame is skipped up to the
    next delimiter. Bad frames are counted in `drops`, never raised.
    """

    def __init__(self, max_frame=DEFAULT_MAX_FRAME, drops=None, decode=cobs_decode):
        self.max_frame = max_frame
        self._decode = decode  # cobs_decode, or a faster one of the same shape (gateway)
        self.drops = drops if drops is not None else Drops()
        self._raw = bytearray(wire_size(max_frame))
        self._plain = bytearray(max_frame)
        self._plain_view = memoryview(self._plain)
        self._fill = 0
        self._skipping = False

    def feed(self, data, n=-1):
        """Yield a view of each valid record in data[:n] (valid until the next one)."""
        if isinstance(data, memoryview):
            data = bytes(data)  # a memoryview has no find(); pass a buffer and n instead
        view = memoryview(data)
        raw = self._raw
        if n < 0 or n > len(data):
            n = len(data)
        start = 0
        while start < n:
            z = _find_zero(data, start, n)
            piece = z - start
            if not self._skipping:
                if self._fill + piece > len(raw):
                    self._skipping = True
                    self.drops.add(DROP_OVERSIZE, "longer than max_frame %d" % self.max_frame)
                else:
                    raw[self._fill:self._fill + piece] = view[start:z]
                    self._fill += piece
            if z >= n:
                break
            start = z + 1
            if self._skipping:
                self._skipping = False
                self._fill = 0
                continue
            fill = self._fill
            self._fill = 0
            if fill == 0:
                continue  # idle delimiters between frames are allowed
            record = self._check(fill)
            if record is not None:
                yield record

    def _check(self, fill):
        size = self._decode(self._raw, fill, self._plain)
        if size < 0:
            self.drops.add(DROP_COBS, "invalid COBS block")
            return None
        if size < OVERHEAD:
            self.drops.add(DROP_SHORT, "%d bytes is shorter than a frame" % size)
            return None
        plain = self._plain_view
        if plain[0] != VERSION:
            self.drops.add(DROP_VERSION, "version %d, expected %d" % (plain[0], VERSION))
            return None
        end = size - 4
        crc = (plain[end] << 24) | (plain[end + 1] << 16) | (plain[end + 2] << 8) | plain[end + 3]
        if crc32(plain[:end]) & 0xFFFFFFFF != crc:
            self.drops.add(DROP_CRC, "CRC32 mismatch")
            return None
        return plain[1:end]
