"""The ahead-of-time engine: an actor translated to a native module by the gateway, run behind
the same seam as wasm3 (edgehost.engine's shape), so the waPC host does not know which runs.

A translation is a MicroPython native module (.mpy, built by edgecli.aot) exposing
`instance_size()`, `clock(buffer, deadline_ms, ticks_ms, ticks_diff)`,
`instantiate(buffer, imports, memory_pages, stack_bytes)`, `call(buffer, index, *args)` and
`function(buffer, index)` (the same as a callable), `memory(buffer)`, `free(buffer)`, the
lines `imports` ("module.name") and `exports` that index them, and `module_sha256`, the hex
SHA-256 of the module it was translated from: an instance is refused for any other module.
Traps are RuntimeError("[trap] ...") as on the board's wasm3 module.

Like the board's wasm3 module, a translation has the waPC exchange in C:
`exchange(buffer, max_payload, max_log, on_log)` makes the instance's, shaped like
wasm3.Exchange, and serves in C the imports listed in `served` that are linked to it.
"""

import binascii
import sys

from edgehost.engine import EngineError, trap_cause
from edgelink import hmac256
from edgelink.clock import ticks_diff, ticks_ms

# the host function the translator's instrumentation calls when its countdown runs out
# (edgecli.aotdeadline): it returns the next countdown, or traps once the deadline has passed.
# The translation serves it in C, with the clock the instance gives it.
DEADLINE_IMPORT = ("edgehost", "deadline")
# steps of the countdown (entries of functions that call out, batches of loop passes) between
# two looks at the clock
COUNTDOWN = 10000


def load(path):
    """The translation's native module from its .mpy file at `path`."""
    cut = path.rfind("/")
    folder, name = path[:cut] if cut > 0 else ".", path[cut + 1:]
    if not name.endswith(".mpy"):
        raise EngineError("translation %s: not a .mpy file" % path)
    name = name[:-4]
    sys.path.insert(0, folder)
    try:
        return __import__(name)
    except (ImportError, ValueError) as exc:
        raise EngineError("translation %s cannot load here: %s" % (path, exc))
    finally:
        sys.path.pop(0)


class AotEngine:
    """An engine (Instance, EngineError, trap_cause) whose instances run translations: each
    module runs the translation made from it (found by its SHA-256), and a module with none is
    refused, so its loader can fall back to wasm3."""

    EngineError = EngineError

    def __init__(self, *natives):
        self.translations = {}
        for native in natives:
            self.translations[native.module_sha256] = native

    @staticmethod
    def trap_cause(exc):
        return trap_cause(exc)

    def Instance(self, module_bytes, stack_bytes, memory_pages=0, deadline_ms=0):  # noqa: N802
        digest = str(binascii.hexlify(hmac256.sha256(module_bytes).digest()), "ascii")
        native = self.translations.get(digest)
        if native is None:
            raise EngineError("no translation of module %s" % digest[:12])
        return AotInstance(native, stack_bytes, memory_pages, deadline_ms)


class AotInstance:
    """One instance of a translation, shaped like edgehost.engine.Instance.

    Host functions are linked by name before the first call; the module is instantiated
    (memory allocated, data segments copied) on the first `find_function`, when every import
    has its function.
    """

    def __init__(self, native, stack_bytes, memory_pages, deadline_ms):
        self._native = native
        self._imports = native.imports.split("\n") if native.imports else []
        self._exports = native.exports.split("\n") if native.exports else []
        self._linked = [None] * len(self._imports)
        self._stack_bytes = stack_bytes
        self._memory_pages = memory_pages
        self._deadline_ms = deadline_ms
        self._served = native.served.split("\n") if native.served else []
        self._exchange = None
        # the instance lives in this buffer from the start (its exchange points into it), and
        # is instantiated once every import is linked
        self._buffer = bytearray(native.instance_size())
        self._ready = False
        key = "%s.%s" % DEADLINE_IMPORT
        if key in self._imports:
            self._linked[self._imports.index(key)] = DEADLINE_IMPORT  # served in C

    def link_function(self, module, name, signature, fn):
        key = module + "." + name
        if key not in self._imports:
            raise EngineError("cannot link %s.%s as %s: the module does not import it"
                              % (module, name, signature))
        if fn is self._exchange and fn is not None and key not in self._served:
            raise EngineError("cannot link %s.%s as %s: the exchange does not serve it"
                              % (module, name, signature))
        self._linked[self._imports.index(key)] = fn

    def _instantiate(self):
        for index, fn in enumerate(self._linked):
            if fn is None:
                raise EngineError("import %s is not linked" % self._imports[index])
        self._native.clock(self._buffer, self._deadline_ms, ticks_ms, ticks_diff)
        try:
            self._native.instantiate(self._buffer, self._linked, self._memory_pages,
                                     self._stack_bytes)
        except (RuntimeError, ValueError, MemoryError) as exc:
            raise EngineError("cannot instantiate the translation: %s" % exc)
        self._ready = True

    def find_function(self, name):
        if name not in self._exports:
            raise EngineError("function lookup failed: %s" % name)
        if not self._ready:
            self._instantiate()
        return self._native.function(self._buffer, self._exports.index(name))

    def get_memory(self, index):
        if not self._ready:
            self._instantiate()
        return memoryview(self._native.memory(self._buffer))

    def exchange(self, max_payload, max_log, on_log):
        """The translation's waPC exchange for this instance, in C (wasm3.Exchange's shape)."""
        self._exchange = self._native.exchange(self._buffer, max_payload, max_log,
                                               on_log and _quiet(on_log))
        return self._exchange

    def close(self):
        if self._ready:
            self._ready = False
            self._native.free(self._buffer)


def _quiet(on_log):
    """`on_log` for the C exchange, which cannot catch: a failing log handler must not abort
    the guest's call."""

    def log(text):
        try:
            on_log(text)
        except Exception:  # noqa: BLE001 - whatever the handler raises, the call goes on
            pass

    return log
