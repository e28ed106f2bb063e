"""Walk the sections of a WebAssembly module from a stream, holding one small buffer at a time."""

WASM_MAGIC = b"\x00asm"
WASM_VERSION = b"\x01\x00\x00\x00"
CUSTOM_SECTION = 0


class WasmFormatError(ValueError):
    """The bytes are not a well-formed WebAssembly module; the message says where and why."""


class SectionReader:
    """Reads a module section by section.

    `next_section()` returns `(section_id, header, payload_size, name)` or None at the end.
    `header` is the record's bytes before the payload: id, size and, for a custom section,
    its name field, so a caller can hash or copy records exactly. `name` is the custom
    section's name (None for the others) and `payload_size` what is left of the record
    after the header. The payload is then read with `read(n)` or `chunks()`; what the caller
    leaves unread is skipped by the next `next_section()`.
    """

    def __init__(self, stream, size=None, chunk_size=512):
        self._stream = stream
        self._size = size
        self._buf = bytearray(chunk_size)
        self._view = memoryview(self._buf)
        self._left = 0  # unread payload bytes of the current section
        self.offset = 0  # bytes consumed from the stream
        self.section_offset = 0  # where the current section's record starts

    def _take(self, n, what):
        data = self._stream.read(n) if n else b""
        if data is None or len(data) != n:
            got = 0 if data is None else len(data)
            raise WasmFormatError(
                "truncated module: %s at offset %d needs %d bytes, only %d left"
                % (what, self.offset, n, got)
            )
        self.offset += n
        return data

    def _uleb(self, what, raw):
        result = 0
        shift = 0
        for _ in range(5):
            byte = self._take(1, what)
            raw.append(byte[0])
            result |= (byte[0] & 0x7F) << shift
            if not byte[0] & 0x80:
                return result
            shift += 7
        raise WasmFormatError("%s at offset %d: LEB128 longer than 5 bytes" % (what, self.offset))

    def read_header(self):
        """Check the 8-byte preamble and return it."""
        head = self._stream.read(8) or b""
        self.offset += len(head)
        if head[:4] != WASM_MAGIC:
            raise WasmFormatError("not a WebAssembly module: it does not start with \\0asm")
        if len(head) < 8:
            raise WasmFormatError("truncated module: the version field is cut off")
        if head[4:8] != WASM_VERSION:
            raise WasmFormatError(
                "unsupported WebAssembly version %r (expected 1)" % bytes(head[4:8])
            )
        return head

    def next_section(self):
        self.skip()
        self.section_offset = self.offset
        first = self._stream.read(1)
        if not first:
            return None
        self.offset += 1
        header = bytearray(first)
        size = self._uleb("section size", header)
        end = self.offset + size
        if self._size is not None and end > self._size:
            raise WasmFormatError(
                "section %d at offset %d: size %d runs past the end of the module (%d bytes)"
                % (first[0], self.section_offset, size, self._size)
            )
        name = None
        if first[0] == CUSTOM_SECTION:
            start = self.offset
            name_len = self._uleb("custom section name length", header)
            if self.offset + name_len > end:
                raise WasmFormatError(
                    "custom section at offset %d: name length %d runs past the section's end"
                    % (self.section_offset, name_len)
                )
            raw = self._take(name_len, "custom section name")
            header.extend(raw)
            try:
                name = str(raw, "utf-8")
            except Exception:
                raise WasmFormatError(
                    "custom section at offset %d: name is not UTF-8" % self.section_offset
                )
            size -= self.offset - start
        self._left = size
        return first[0], bytes(header), size, name

    def read(self, n=-1):
        """Read up to n bytes (all when n < 0) of the current section's payload."""
        if n < 0 or n > self._left:
            n = self._left
        data = self._take(n, "section payload")
        self._left -= n
        return data

    def chunks(self):
        """Yield the rest of the payload as memoryviews of one reused buffer."""
        readinto = getattr(self._stream, "readinto", None)
        while self._left:
            n = min(self._left, len(self._buf))
            if readinto is not None:
                got = readinto(self._view[:n])
                if not got:
                    self._take(n, "section payload")  # raises with the position
                self.offset += got
                self._left -= got
                yield self._view[:got]
            else:
                data = self.read(n)
                yield memoryview(data)

    def skip(self):
        for _ in self.chunks():
            pass
