"""The wasm engine behind the waPC host: one module instance, shaped like the pywasm3 API.

Under CPython this is pywasm3 (module `wasm3`); on the board, the firmware's C module of the
same name and shape. What is engine-specific (the import, error shapes, pywasm3's sharp
edges) stays in this file.
"""


def enforces_limits():
    """True where the engine caps memory and stops a runaway call (the board's wasm3 module)."""
    import wasm3

    return hasattr(wasm3.Runtime, "set_deadline")


class EngineError(Exception):
    """The engine could not load or link a module; the message is the engine's."""


def trap_cause(exc):
    """The cause of a trap (e.g. "unreachable executed") if `exc` is the engine's, else None.

    pywasm3 reports traps as RuntimeError("[trap] ..."); other RuntimeErrors from a call are
    engine failures (a missing import, say) and are reported as they are.
    """
    if not isinstance(exc, RuntimeError):
        return None
    text = str(exc)
    return text[7:] if text.startswith("[trap] ") else text


class _Pywasm3Release:
    """Frees what pywasm3 0.5.0 never frees; None where the engine needs no help.

    pywasm3 0.5.0 keeps every runtime (and the modules loaded into it) for good and holds
    an extra reference to every module's bytes and linked function: a simulated board grew
    by ~200 KB per load. Through the wasm3 C API its library exports, this frees a closed
    instance's runtime and drops those references. Objects are read at the offsets of
    pywasm3 0.5.0's structs, checked against known pointers first: if a check fails nothing
    is freed (leaking is better than a crash). What pywasm3 keeps on each host function call
    (its argument tuple, a buffer per get_memory) stays: freeing that would cost the hot path.
    """

    def __init__(self, wasm3):
        import ctypes

        lib = ctypes.CDLL(wasm3.__file__)
        lib.m3_FreeRuntime.argtypes = [ctypes.c_void_p]
        lib.m3_FreeRuntime.restype = None
        lib.m3_GetModuleRuntime.argtypes = [ctypes.c_void_p]
        lib.m3_GetModuleRuntime.restype = ctypes.c_void_p
        self._ctypes = ctypes
        self._lib = lib
        # PyObject_HEAD (refcount, type), then the struct's environment pointer
        self._env_at = ctypes.sizeof(ctypes.c_ssize_t) + ctypes.sizeof(ctypes.c_void_p)
        # one environment for all: a freed runtime's code pages go back to its environment
        self.environment = wasm3.Environment()

    def pointer(self, obj):
        """The wasm3 runtime or module pointer inside a pywasm3 object, or None if the object
        does not hold the shared environment where pywasm3 0.5.0 keeps it."""
        read = self._ctypes.c_void_p.from_address
        if read(id(obj) + self._env_at).value != id(self.environment):
            return None
        return read(id(obj) + self._env_at + self._ctypes.sizeof(self._ctypes.c_void_p)).value

    def runtime_of(self, runtime, module):
        """The runtime's pointer if the struct offsets check out (the module loaded into it
        names it as its runtime), else None."""
        pointer = self.pointer(runtime)
        module_pointer = self.pointer(module)
        if pointer is None or module_pointer is None:
            return None
        if self._lib.m3_GetModuleRuntime(module_pointer) != pointer:
            return None
        return pointer

    def free(self, pointer, held):
        """Free the runtime (with its module) and drop pywasm3's extra references on `held`."""
        self._lib.m3_FreeRuntime(pointer)
        decref = self._ctypes.pythonapi.Py_DecRef
        for obj in held:
            decref(self._ctypes.py_object(obj))


_release = None


def _pywasm3_release(wasm3):
    global _release
    if _release is None:
        _release = False
        if not enforces_limits() and getattr(wasm3, "M3_VERSION", None) == "0.5.0":
            try:
                _release = _Pywasm3Release(wasm3)
            except (ImportError, OSError, AttributeError):
                pass  # no ctypes, or a library that does not export the C API
    return _release


class Instance:
    """One module loaded into its own runtime, with host functions linked by name.

    `find_function(name)` returns the engine's callable as is (no wrapper on the hot path);
    `get_memory(0)` a view of linear memory that goes stale when the guest grows it, so
    fetch it again after every entry into the guest.

    `memory_pages` caps linear memory (memory.grow past it fails) and `deadline_ms` the time
    one entry into the guest may run (it then traps with "deadline exceeded"), where the
    engine can: the board's wasm3 module can, pywasm3 cannot (see enforces_limits).
    """

    def __init__(self, module_bytes, stack_bytes, memory_pages=0, deadline_ms=0):
        import wasm3

        # pywasm3 keeps pointers into the bytes it parsed and wants `bytes`, not a bytearray.
        self._bytes = bytes(module_bytes)
        release = _pywasm3_release(wasm3)
        self._release = release
        self._pointer = None
        self._held = []
        try:
            self._env = release.environment if release else wasm3.Environment()
            self._runtime = self._env.new_runtime(stack_bytes)
            self._module = self._env.parse_module(self._bytes)
            if release:
                self._held.append(self._bytes)
            self._runtime.load(self._module)
            if release:
                self._pointer = release.runtime_of(self._runtime, self._module)
            if enforces_limits():
                self._runtime.set_memory_limit(memory_pages)
                self._runtime.set_deadline(deadline_ms)
        except RuntimeError as exc:
            raise EngineError(str(exc))
        self.get_memory = self._runtime.get_memory

    def link_function(self, module, name, signature, fn):
        try:
            self._module.link_function(module, name, signature, fn)
        except RuntimeError as exc:
            raise EngineError("cannot link %s.%s as %s: %s" % (module, name, signature, exc))
        if self._release:
            self._held.append(fn)

    def exchange(self, max_payload, max_log, on_log):
        """The engine's own waPC exchange for this instance (the board's wasm3 module serves
        every waPC host function but __host_call in C), or None where the engine has none
        (pywasm3: edgehost.wapc.Exchange does it all in Python)."""
        import wasm3

        native = getattr(wasm3, "Exchange", None)
        if native is None:
            return None
        return native(self._runtime, max_payload, max_log, on_log)

    def find_function(self, name):
        try:
            return self._runtime.find_function(name)
        except RuntimeError as exc:
            raise EngineError(str(exc))

    def close(self):
        if self._pointer is not None:
            pointer, self._pointer = self._pointer, None
            self._release.free(pointer, self._held)
        self._held = []
        self.get_memory = None
        self._module = self._runtime = self._env = None
