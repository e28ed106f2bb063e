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
        try:
            self._env = wasm3.Environment()
            self._runtime = self._env.new_runtime(stack_bytes)
            self._module = self._env.parse_module(self._bytes)
            self._runtime.load(self._module)
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

    def find_function(self, name):
        try:
            return self._runtime.find_function(name)
        except RuntimeError as exc:
            raise EngineError(str(exc))

    def close(self):
        self.get_memory = None
        self._module = self._runtime = self._env = None
