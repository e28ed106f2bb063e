"""Inspect a WebAssembly module from a stream: imports, exports, memory, custom sections, limits."""

from edgemodule.wasmsections import CUSTOM_SECTION, SectionReader, WasmFormatError

TYPE_SECTION = 1
IMPORT_SECTION = 2
FUNCTION_SECTION = 3
MEMORY_SECTION = 5
EXPORT_SECTION = 7
CODE_SECTION = 10
DATA_SECTION = 11

KINDS = ("func", "table", "memory", "global", "tag")
# pywasm3's signature letters
VALUE_TYPES = {0x7F: "i", 0x7E: "I", 0x7D: "f", 0x7C: "F", 0x7B: "V", 0x70: "r", 0x6F: "e"}
PAGE = 65536


class LimitBroken(ValueError):
    """A module breaks one of the host's rules; `rule` names it, the message says how."""

    def __init__(self, rule, reason):
        super().__init__(reason)
        self.rule = rule
        self.reason = reason


class _Payload:
    """Numbers, names and bytes from one section's payload, pulled in small chunks."""

    def __init__(self, reader, size, section, chunk=256):
        self._reader = reader
        self._left = size
        self._chunk_size = chunk
        self._chunk = b""
        self._pos = 0
        self.section = section

    def _refill(self):
        if not self._left:
            raise WasmFormatError("%s section: an entry runs past the section's end" % self.section)
        n = min(self._left, self._chunk_size)
        self._chunk = self._reader.read(n)
        self._left -= n
        self._pos = 0

    def byte(self):
        if self._pos >= len(self._chunk):
            self._refill()
        b = self._chunk[self._pos]
        self._pos += 1
        return b

    def uleb(self):
        result = 0
        shift = 0
        for _ in range(5):
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
        raise WasmFormatError("%s section: LEB128 longer than 5 bytes" % self.section)

    def take(self, n):
        if self._pos + n <= len(self._chunk):
            data = self._chunk[self._pos:self._pos + n]
            self._pos += n
            return bytes(data)
        out = bytearray()
        while len(out) < n:
            if self._pos >= len(self._chunk):
                self._refill()
            part = self._chunk[self._pos:self._pos + n - len(out)]
            out.extend(part)
            self._pos += len(part)
        return bytes(out)

    def name(self, max_name):
        n = self.uleb()
        if n > max_name:
            raise WasmFormatError(
                "%s section: a name of %d bytes is longer than the inspector's bound of %d"
                % (self.section, n, max_name)
            )
        raw = self.take(n)
        try:
            return str(raw, "utf-8")
        except Exception:
            raise WasmFormatError("%s section: a name is not UTF-8: %r" % (self.section, raw))

    def limits(self):
        flags = self.byte()
        if flags & ~0x03:
            raise WasmFormatError(
                "%s section: unsupported limits flags 0x%02x" % (self.section, flags)
            )
        low = self.uleb()
        high = self.uleb() if flags & 1 else None
        return low, high


class Inspection:
    """What a module imports, exports, declares and carries, read in one pass over a stream.

    `imports` is a list of (module, name, kind, type): kind is "func", "table", "memory",
    "global" or "tag"; type is a pywasm3-style signature like "i(ii)" for functions, ""
    otherwise. `exports` maps each exported name to its kind. `memory_pages` and
    `memory_max_pages` are the linear memory's declared initial and maximum size (None when
    absent). `custom_sections` lists (name, payload_offset, payload_size); the payloads of
    the sections named in `keep` are held in `custom`, {name: [payload, ...]}, when each is
    at most `max_kept` bytes.
    """

    def __init__(self, stream, size=None, keep=(), max_kept=8192, max_name=1024):
        self.imports = []
        self.exports = {}
        self.memory_pages = 0
        self.memory_max_pages = None
        self.has_memory = False
        self.custom_sections = []
        self.custom = {}
        self.section_bytes = {}  # section id -> payload bytes (custom sections summed)
        self.functions = 0  # defined in the module, not imported
        self._max_name = max_name
        reader = SectionReader(stream, size)
        reader.read_header()
        types = []
        while True:
            section = reader.next_section()
            if section is None:
                break
            sid, _, payload_size, name = section
            self.section_bytes[sid] = self.section_bytes.get(sid, 0) + payload_size
            if sid == CUSTOM_SECTION:
                self._custom(reader, name, payload_size, keep, max_kept)
            elif sid == TYPE_SECTION:
                types = self._types(_Payload(reader, payload_size, "type"))
            elif sid == IMPORT_SECTION:
                self._imports(_Payload(reader, payload_size, "import"), types)
            elif sid == FUNCTION_SECTION:
                self.functions = _Payload(reader, payload_size, "function").uleb()
            elif sid == MEMORY_SECTION:
                self._memory(_Payload(reader, payload_size, "memory"))
            elif sid == EXPORT_SECTION:
                self._exports(_Payload(reader, payload_size, "export"))
        self.size = reader.offset

    def _custom(self, reader, name, payload_size, keep, max_kept):
        self.custom_sections.append((name, reader.offset, payload_size))
        if name in keep and payload_size <= max_kept:
            self.custom.setdefault(name, []).append(reader.read())

    def _types(self, payload):
        types = []
        for _ in range(payload.uleb()):
            form = payload.byte()
            if form != 0x60:
                raise WasmFormatError("type section: unsupported type form 0x%02x" % form)
            params = "".join(self._value_type(payload) for _ in range(payload.uleb()))
            results = "".join(self._value_type(payload) for _ in range(payload.uleb()))
            types.append("%s(%s)" % (results or "v", params))
        return types

    def _value_type(self, payload):
        code = payload.byte()
        letter = VALUE_TYPES.get(code)
        if letter is None:
            raise WasmFormatError("%s section: unknown value type 0x%02x" % (payload.section, code))
        return letter

    def _imports(self, payload, types):
        for _ in range(payload.uleb()):
            module = payload.name(self._max_name)
            name = payload.name(self._max_name)
            kind = payload.byte()
            signature = ""
            if kind == 0:
                index = payload.uleb()
                if index >= len(types):
                    raise WasmFormatError(
                        "import section: %s.%s uses type %d, the module has %d"
                        % (module, name, index, len(types))
                    )
                signature = types[index]
            elif kind == 1:
                payload.byte()
                payload.limits()
            elif kind == 2:
                self.memory_pages, self.memory_max_pages = payload.limits()
                self.has_memory = True
            elif kind == 3:
                payload.byte()
                payload.byte()
            elif kind == 4:
                payload.byte()
                payload.uleb()
            else:
                raise WasmFormatError(
                    "import section: %s.%s has unknown kind %d" % (module, name, kind)
                )
            self.imports.append((module, name, KINDS[kind], signature))

    def _memory(self, payload):
        if payload.uleb():
            self.memory_pages, self.memory_max_pages = payload.limits()
            self.has_memory = True

    def _exports(self, payload):
        for _ in range(payload.uleb()):
            name = payload.name(self._max_name)
            kind = payload.byte()
            payload.uleb()
            if kind >= len(KINDS):
                raise WasmFormatError("export section: %s has unknown kind %d" % (name, kind))
            self.exports[name] = KINDS[kind]

    def exports_function(self, name):
        return self.exports.get(name) == "func"

    def check(self, provided, max_memory_pages, required=("__guest_call",)):
        """Raise LimitBroken unless every import is `provided` ({module: {name: signature}}),
        the declared memory fits in `max_memory_pages` and every `required` function is
        exported."""
        unknown = []
        mismatched = []
        for module, name, kind, signature in self.imports:
            wanted = provided.get(module, {}).get(name) if kind == "func" else None
            if wanted is None:
                shown = "%s.%s" % (module, name)
                unknown.append(shown if kind == "func" else "%s (%s)" % (shown, kind))
            elif wanted != signature:
                mismatched.append(
                    "%s.%s is %s, the host's is %s" % (module, name, signature, wanted)
                )
        if unknown:
            raise LimitBroken(
                "imports", "imports what the host does not provide: " + ", ".join(unknown)
            )
        if mismatched:
            raise LimitBroken(
                "imports", "imports with the wrong signature: " + "; ".join(mismatched)
            )
        if self.memory_pages > max_memory_pages:
            raise LimitBroken(
                "memory",
                "declares %d memory pages (%d KiB), above the budget of %d pages (%d KiB)"
                % (self.memory_pages, self.memory_pages * PAGE // 1024, max_memory_pages,
                   max_memory_pages * PAGE // 1024),
            )
        for name in required:
            if not self.exports_function(name):
                raise LimitBroken("exports", "exports no %s function" % name)


class BytesStream:
    """A read-only stream over module bytes already in memory, without copying them."""

    def __init__(self, data):
        self._view = memoryview(data)
        self._pos = 0

    def read(self, n=-1):
        end = len(self._view) if n < 0 else min(self._pos + n, len(self._view))
        chunk = bytes(self._view[self._pos:end])
        self._pos = end
        return chunk


def inspect_bytes(data, keep=(), max_kept=8192):
    """Inspect a module held in memory."""
    return Inspection(BytesStream(data), len(data), keep, max_kept)
