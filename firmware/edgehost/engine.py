"""The wasm engine behind the waPC host: one module instance, shaped like the pywasm3 API.

Under CPython this is pywasm3 (module `wasm3`); on the board, the firmware's C module of the
same name and shape. Everything engine-specific (imports, error shapes, pywasm3's sharp
edges) stays in this file.
"""


class EngineError(Exception):
    """The engine could not load or link a module; the message is the engine's."""


class Trap(Exception):
    """The guest trapped; the message is the cause (e.g. "unreachable executed")."""


def _trap_cause(exc):
    text = str(exc)
    if text.startswith("[trap] "):
        return text[7:]
    return None


class Instance:
    """One module loaded into its own runtime, with host functions linked by name."""

    def __init__(self, module_bytes, stack_bytes):
        import wasm3

        # pywasm3 keeps pointers into the bytes it parsed and wants `bytes`, not a bytearray.
        self._bytes = bytes(module_bytes)
        try:
            self._env = wasm3.Environment()
            self._runtime = self._env.new_runtime(stack_bytes)
            self._module = self._env.parse_module(self._bytes)
            self._runtime.load(self._module)
        except RuntimeError as exc:
            raise EngineError(str(exc))

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

    def call(self, function, *args):
        """Run `function`; a trap raises Trap, a host function's exception passes through."""
        try:
            return function(*args)
        except RuntimeError as exc:
            cause = _trap_cause(exc)
            if cause is None:
                raise EngineError(str(exc))
            raise Trap(cause)

    def memory(self):
        """A fresh view of linear memory; one taken before the guest grew it is stale."""
        return self._runtime.get_memory(0)

    def close(self):
        self._module = self._runtime = self._env = None
