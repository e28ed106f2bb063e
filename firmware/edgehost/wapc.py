"""The board's waPC host: waPC exchanges with one actor on a wasm engine, and hot swap."""

try:
    import _thread
except ImportError:  # CircuitPython: no threads, so nothing can run beside a call
    _thread = None

from edgehost import engine as wasm3_engine
from edgemodule.fit import HOST_FUNCTIONS as PROVIDED
from edgemodule.wasminspect import LimitBroken, inspect_bytes
from edgemodule.wasmsections import WasmFormatError

RPC_VERSION_EXPORT = "__wasmbus_rpc_version"
START_FUNCTIONS = ("start", "wapc_init", "_start")


class Limits:
    """What one actor may use: memory pages, bytes per payload, engine stack, and the time one
    call may run in the guest (the engine stops it with a trap; 0: no limit)."""

    def __init__(self, memory_pages=16, max_payload=128 * 1024, stack_bytes=64 * 1024,
                 max_log=512, deadline_ms=10000):
        self.memory_pages = memory_pages
        self.max_payload = max_payload
        self.stack_bytes = stack_bytes
        self.max_log = max_log
        self.deadline_ms = deadline_ms


class WapcError(Exception):
    """Something went wrong with an actor; the message names the actor and says what."""

    def __init__(self, actor, message):
        super().__init__("actor %s: %s" % (actor, message))
        self.actor = actor


class GuestError(WapcError):
    """The guest answered an operation with an error (the instance stays usable)."""

    def __init__(self, actor, operation, detail):
        super().__init__(actor, "%s failed: %s" % (operation, detail))
        self.operation = operation
        self.detail = detail


class TrapError(WapcError):
    """The guest trapped or broke the exchange; its instance was rebuilt (or marked failed)."""

    def __init__(self, actor, operation, cause, rebuilt=False):
        super().__init__(actor, "trapped in %s: %s" % (operation, cause))
        self.operation = operation
        self.cause = cause
        self.rebuilt = rebuilt


class ModuleRefused(WapcError):
    """A module was refused before it ran; `rule` names the rule it broke."""

    def __init__(self, actor, rule, reason):
        super().__init__(actor, "module refused: %s" % reason)
        self.rule = rule
        self.reason = reason


class NoGuestCall(ModuleRefused):
    """The module exports no __guest_call, so there is nothing to call."""


class PayloadTooLarge(WapcError):
    """A payload or response is larger than the actor's limit."""


class ActorFailed(WapcError):
    """The actor trapped and its instance could not be rebuilt; swap in a module to recover."""


class GuestFault(Exception):
    """The guest handed the host something it cannot serve, e.g. a pointer outside its memory."""


def _u32(value):
    return value & 0xFFFFFFFF


def _text(data):
    try:
        return str(data, "utf-8")
    except Exception:
        return None


class Exchange:
    """The waPC exchange state of one instance and the host functions that serve it.

    Engine-independent: `get_memory(0)` gives a writable view of the guest's linear memory,
    fetched on every entry because the guest may have grown it since. `begin()` resets the
    state at the start of each call. Pointers and lengths arrive as signed i32 and are
    checked against the memory before any copy.

    Where the engine has its own exchange (`native`, the board's wasm3 module: the same
    state, begin() and host functions in C), that one keeps the state and serves every host
    function but __host_call, which stays here and stores its outcome there. `state` is
    whichever keeps the state.
    """

    def __init__(self, get_memory, host_call=None, on_log=None, max_payload=128 * 1024,
                 max_log=512, native=None):
        self._memory = get_memory
        self._host_call = host_call
        self._on_log = on_log
        self._native = native
        self.state = self if native is None else native
        self.max_payload = max_payload
        self.max_log = max_log
        self.operation = b""
        self.payload = b""
        self.response = None
        self.error = None
        self.oversize = 0
        self.status = None
        self.host_response = b""
        self.host_error = b""
        if native is None:
            self.guest_request, self.guest_response = self._copy_functions(get_memory)

    def begin(self, operation, payload):
        self.operation = operation
        self.payload = payload
        self.response = None
        self.error = None
        self.oversize = 0
        self.host_response = b""
        self.host_error = b""

    def call(self, guest_call, operation, payload):
        """One exchange: begin(), then guest_call(len(operation), len(payload)). The guest's
        answer (b"" if it gave none) when it returned 1 within the limit; else None, and
        `status`, `error` and `oversize` say why."""
        # begin() written out: under CPython a Python frame costs as much as all it does
        self.operation = operation
        self.payload = payload
        self.response = self.error = None
        self.oversize = 0
        self.host_response = self.host_error = b""
        status = guest_call(len(operation), len(payload))
        if status == 1 and not self.oversize:
            response = self.response
            return b"" if response is None else response
        self.status = status
        return None

    def _span(self, mem, ptr, length, what):
        ptr = _u32(ptr)
        length = _u32(length)
        if ptr + length > len(mem):
            raise GuestFault(
                "%s: %d bytes at 0x%x run past the end of linear memory (%d bytes)"
                % (what, length, ptr, len(mem))
            )
        return ptr, ptr + length

    # Copy first and explain afterwards: a short read shows in the length, and a memoryview
    # refuses a slice assignment that does not fit.

    def _read(self, mem, ptr, length, what):
        ptr &= 0xFFFFFFFF
        length &= 0xFFFFFFFF
        data = bytes(mem[ptr:ptr + length])
        if len(data) != length:
            self._span(mem, ptr, length, what)
        return data

    def _write(self, mem, ptr, data, what):
        ptr &= 0xFFFFFFFF
        try:
            mem[ptr:ptr + len(data)] = data
        except ValueError:
            self._span(mem, ptr, len(data), what)
            raise

    # Host functions, linked under the names the guest imports.

    def _copy_functions(self, get_memory):
        """__guest_request and __guest_response, which run on every call, as closures over
        this exchange: pywasm3 calls a plain function some 300 CPU instructions sooner than a
        bound method (docs/PERFORMANCE.md). They copy inline. A pointer or length arrives as
        a signed i32; only a negative one needs the mask, which costs far more than the test
        (it makes a new int)."""
        exchange = self

        def guest_request(op_ptr, ptr):
            mem = get_memory(0)
            operation = exchange.operation
            payload = exchange.payload
            if op_ptr < 0:
                op_ptr &= 0xFFFFFFFF
            if ptr < 0:
                ptr &= 0xFFFFFFFF
            try:
                mem[op_ptr:op_ptr + len(operation)] = operation
                mem[ptr:ptr + len(payload)] = payload
            except ValueError:
                exchange._span(mem, op_ptr, len(operation), "__guest_request operation")
                exchange._span(mem, ptr, len(payload), "__guest_request payload")
                raise

        def guest_response(ptr, length):
            if length < 0 or length > exchange.max_payload:
                exchange.response = exchange._take(ptr, length, "__guest_response")
                return
            if ptr < 0:
                ptr &= 0xFFFFFFFF
            mem = get_memory(0)
            data = bytes(mem[ptr:ptr + length])
            if len(data) != length:
                exchange._span(mem, ptr, length, "__guest_response")
            exchange.response = data

        return guest_request, guest_response

    def guest_error(self, ptr, length):
        self.error = self._take(ptr, length, "__guest_error")

    def _take(self, ptr, length, what):
        mem = self._memory(0)
        length &= 0xFFFFFFFF
        if length > self.max_payload:
            self._span(mem, ptr, length, what)
            self.oversize = length
            return b""
        ptr &= 0xFFFFFFFF
        data = bytes(mem[ptr:ptr + length])
        if len(data) != length:
            self._span(mem, ptr, length, what)
        return data

    def host_call(self, bd_ptr, bd_len, ns_ptr, ns_len, op_ptr, op_len, ptr, length):
        mem = self._memory(0)
        binding = self._read(mem, bd_ptr, bd_len, "__host_call binding")
        namespace = self._read(mem, ns_ptr, ns_len, "__host_call namespace")
        operation = self._read(mem, op_ptr, op_len, "__host_call operation")
        self._span(mem, ptr, length, "__host_call payload")
        state = self.state
        state.host_response = b""
        state.host_error = b""
        names = (_text(binding), _text(namespace), _text(operation))
        if None in names:
            return self._fail_host_call("binding, namespace and operation must be UTF-8")
        if _u32(length) > self.max_payload:
            return self._fail_host_call(
                "host call payload of %d bytes is above the limit of %d"
                % (_u32(length), self.max_payload)
            )
        payload = self._read(mem, ptr, length, "__host_call payload")
        if self._host_call is None:
            return self._fail_host_call("this host serves no host calls")
        try:
            result = self._host_call(names[0], names[1], names[2], payload)
        except Exception as exc:
            return self._fail_host_call(str(exc) or type(exc).__name__)
        if not isinstance(result, (bytes, bytearray, memoryview)):
            return self._fail_host_call(
                "host call handler returned %s, not bytes" % type(result).__name__
            )
        if len(result) > self.max_payload:
            return self._fail_host_call(
                "host response of %d bytes is above the limit of %d"
                % (len(result), self.max_payload)
            )
        state.host_response = result
        return 1

    def _fail_host_call(self, message):
        self.state.host_error = message.encode()
        return 0

    def host_response_len(self):
        return len(self.host_response)

    def host_response_into(self, ptr):
        self._write(self._memory(0), ptr, self.host_response, "__host_response")

    def host_error_len(self):
        return len(self.host_error)

    def host_error_into(self, ptr):
        self._write(self._memory(0), ptr, self.host_error, "__host_error")

    def console_log(self, ptr, length):
        mem = self._memory(0)
        self._span(mem, ptr, length, "__console_log")
        shown = min(_u32(length), self.max_log)
        line = bytes(mem[_u32(ptr):_u32(ptr) + shown])
        text = _text(line)
        if text is None:
            text = repr(line)
        if shown < _u32(length):
            text += "... (%d bytes)" % _u32(length)
        if self._on_log is not None:
            try:
                self._on_log(text)
            except Exception:
                pass  # a failing log handler must not abort the guest's call

    def fd_write(self, fd, iovs, iovs_len, written_ptr):
        # TinyGo's runtime prints through WASI; output is dropped, but every byte counts as
        # written so a guest that loops until all is written does not spin.
        mem = self._memory(0)
        records = self._read(mem, iovs, _u32(iovs_len) * 8, "fd_write iovecs")
        total = 0
        for i in range(4, len(records), 8):
            total += int.from_bytes(records[i:i + 4], "little")
        written = (total & 0xFFFFFFFF).to_bytes(4, "little")
        self._write(mem, written_ptr, written, "fd_write nwritten")
        return 0

    def functions(self):
        """{module: {name: function}} for every import this host serves."""
        wapc = {
            "__guest_error": self.guest_error,
            "__host_call": self.host_call,
            "__host_response_len": self.host_response_len,
            "__host_response": self.host_response_into,
            "__host_error_len": self.host_error_len,
            "__host_error": self.host_error_into,
            "__console_log": self.console_log,
        }
        if self._native is None:
            wapc["__guest_request"] = self.guest_request
            wapc["__guest_response"] = self.guest_response
        else:
            wapc["__guest_request"] = wapc["__guest_response"] = None
            for name in wapc:
                if name != "__host_call":
                    wapc[name] = self._native
        wasi = {"fd_write": self.fd_write}
        return {"wapc": wapc, "wasmbus": wapc, "wasi_snapshot_preview1": wasi}


class WapcInstance:
    """One loaded module: host functions linked, start functions run, ready for calls."""

    def __init__(self, actor, module_bytes, inspection, limits, host_call, on_log, engine):
        self.actor = actor
        self._engine = engine
        self.instance = engine.Instance(module_bytes, limits.stack_bytes, limits.memory_pages,
                                        limits.deadline_ms)
        native = self.instance.exchange(limits.max_payload, limits.max_log, on_log)
        self.exchange = Exchange(self.instance.get_memory, host_call, on_log,
                                 limits.max_payload, limits.max_log, native)
        self._state = self.exchange.state
        self.exchange_call = self._state.call
        try:
            self._prepare(inspection)
        except BaseException:
            self.instance.close()  # a refused module must not keep its runtime
            raise

    def _prepare(self, inspection):
        served = self.exchange.functions()
        for module, name, _, signature in inspection.imports:
            self.instance.link_function(module, name, signature, served[module][name])
        self.guest_call = self.instance.find_function("__guest_call")
        self.rpc_version = 0
        if inspection.exports_function(RPC_VERSION_EXPORT):
            self.rpc_version = self._start(RPC_VERSION_EXPORT) or 0
        for name in START_FUNCTIONS:
            if inspection.exports_function(name):
                self._start(name)

    def _start(self, name):
        self._state.begin(b"", b"")
        function = self.instance.find_function(name)
        try:
            return function()
        except Exception as exc:
            raise self.trap(name, exc)

    def trap(self, operation, exc):
        """The TrapError for `exc`, raised by the engine or the host functions in `operation`."""
        if isinstance(exc, GuestFault):
            cause = str(exc)
        else:
            cause = self._engine.trap_cause(exc)
            if cause is None:
                # e.g. MemoryError while copying a payload: the guest was cut off mid-call
                cause = "%s in the host: %s" % (type(exc).__name__, exc)
        if not isinstance(operation, str):
            operation = _text(operation)
        return TrapError(self.actor, operation, cause)

    def fail(self, operation):
        """Raise what the exchange says went wrong with a call that gave no answer."""
        exchange = self._state
        status = exchange.status
        operation = _text(operation)
        if exchange.oversize:
            raise PayloadTooLarge(
                self.actor, "answer of %d bytes to %s is above the limit of %d"
                % (exchange.oversize, operation, exchange.max_payload),
            )
        error = exchange.error
        if error:
            detail = _text(error) or repr(error)
        elif status == 0:
            detail = "the guest returned 0 without an error message"
        else:
            detail = "the guest returned %r, not 1 (ok) or 0 (error)" % (status,)
        raise GuestError(self.actor, operation, detail)

    def close(self):
        self.instance.close()


class _NoLock:
    """Stands in for a lock where there are no threads; still tells a re-entrant call."""

    def __init__(self):
        self._held = False

    def acquire(self, blocking=True):
        if self._held:
            return False
        self._held = True
        return True

    def release(self):
        self._held = False


_thread_id = _thread.get_ident if _thread is not None else (lambda: 0)


class WapcHost:
    """Runs one actor: waPC calls against its module, host calls out to `host_call`, hot swap.

    `host_call(binding, namespace, operation, payload) -> bytes` serves the guest's host
    calls (str, str, str, bytes); raising makes a host error for the guest. `on_log(text)`
    receives the guest's console lines. Calls are serialised: one at a time per actor.
    `engine` is a module shaped like edgehost.engine (Instance, EngineError, trap_cause);
    by default pywasm3, or the board's wasm3 binding of the same name.
    """

    def __init__(self, name, module_bytes, host_call=None, limits=None, on_log=None,
                 engine=None):
        self.name = name
        self.limits = limits or Limits()
        self._max_payload = self.limits.max_payload
        self._host_call = host_call
        self._on_log = on_log
        self._engine = engine or wasm3_engine
        self._lock = _thread.allocate_lock() if _thread is not None else _NoLock()
        self._owner = None
        self._named = (None, None)
        self.failed = None
        self._module_bytes, self.inspection, self._instance = self._load(module_bytes)

    @property
    def rpc_version(self):
        """The guest's __wasmbus_rpc_version (0 when it exports none)."""
        return self._instance.rpc_version if self._instance is not None else 0

    @property
    def health_operation(self):
        return "Actor.HealthRequest" if self.rpc_version > 0 else "HealthRequest"

    def _load(self, module_bytes):
        self._check_type("module", module_bytes, (bytes, bytearray, memoryview))
        module_bytes = bytes(module_bytes)
        try:
            inspection = inspect_bytes(module_bytes)
            inspection.check(PROVIDED, self.limits.memory_pages)
        except WasmFormatError as exc:
            raise ModuleRefused(self.name, "format", "not a valid module: %s" % exc)
        except LimitBroken as exc:
            refused = NoGuestCall if exc.rule == "exports" else ModuleRefused
            raise refused(self.name, exc.rule, exc.reason)
        return module_bytes, inspection, self._instantiate(module_bytes, inspection)

    def _instantiate(self, module_bytes, inspection):
        try:
            return WapcInstance(self.name, module_bytes, inspection, self.limits,
                                self._host_call and self._serve_host_call,
                                self._on_log and self._log, self._engine)
        except self._engine.EngineError as exc:
            raise ModuleRefused(self.name, "engine", str(exc))

    def call(self, operation, payload=b""):
        """Run one waPC exchange; returns the guest's response bytes.

        Raises GuestError, TrapError, PayloadTooLarge or ActorFailed, each naming the actor.
        """
        kind = operation.__class__
        if kind is not bytes:
            # The last str name and its bytes, kept as one tuple so that a call on another
            # thread cannot pair one call's name with another's bytes: a call named like the
            # one before (the usual case) allocates nothing for its name.
            text, encoded = self._named
            if kind is str and operation == text:
                operation = encoded
            elif isinstance(operation, str):
                encoded = operation.encode()
                self._named = (operation, encoded)
                operation = encoded
            else:
                self._check_type("operation", operation, (bytes,))
        if payload.__class__ is not bytes:
            self._check_type("payload", payload, (bytes, bytearray, memoryview))
        if len(payload) > self._max_payload:
            raise PayloadTooLarge(
                self.name, "payload of %d bytes for %s is above the limit of %d"
                % (len(payload), _text(operation), self._max_payload)
            )
        # Only this thread can have set `_owner` to its own id, so reading it unlocked is safe;
        # waiting on the lock after that check is cheaper than trying it first.
        owner = self._owner
        if owner is not None and owner == _thread_id():
            raise WapcError(self.name, "called from inside its own call (not re-entrant)")
        lock = self._lock
        lock.acquire()
        try:
            instance = self._instance
            if instance is None:
                raise ActorFailed(self.name, "failed earlier: %s" % self.failed)
            # the exchange straight from here, not through a method of the instance: one
            # Python frame fewer per call
            try:
                exchange_call = instance.exchange_call
                response = exchange_call(instance.guest_call, operation, payload)
            except Exception as exc:
                trap = instance.trap(operation, exc)
                trap.rebuilt = self._rebuild(trap)
                raise trap
            if response is None:
                instance.fail(operation)
            return response
        finally:
            lock.release()

    def _check_type(self, what, value, allowed):
        if not isinstance(value, allowed):
            names = [t.__name__ for t in allowed]
            wanted = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
            raise TypeError("actor %s: %s must be %s, not %s"
                            % (self.name, what, wanted, type(value).__name__))

    # The owner's code runs during a call only through these two; while it does, `_owner`
    # says which thread holds the call, so a re-entrant call fails instead of deadlocking.

    def _serve_host_call(self, binding, namespace, operation, payload):
        self._owner = _thread_id()
        try:
            return self._host_call(binding, namespace, operation, payload)
        finally:
            self._owner = None

    def _log(self, text):
        self._owner = _thread_id()
        try:
            self._on_log(text)
        finally:
            self._owner = None

    def _rebuild(self, trap):
        # A trap can leave the guest's heap half-written: start over from the module bytes.
        self._instance.close()
        self._instance = None
        try:
            self._instance = self._instantiate(self._module_bytes, self.inspection)
        except WapcError as exc:
            self.failed = "%s; rebuilding it failed: %s" % (trap, exc)
            return False
        return True

    def swap(self, module_bytes):
        """Replace the actor's module. The new one is loaded while the old one keeps serving;
        a call in flight finishes first. If the new module is refused, the old one stays."""
        if self._owner == _thread_id():
            raise WapcError(self.name, "cannot swap its module from inside its own call")
        loaded = self._load(module_bytes)
        self._lock.acquire()
        old = self._instance
        self._module_bytes, self.inspection, self._instance = loaded
        self.failed = None
        self._lock.release()
        if old is not None:
            old.close()

    def close(self):
        self._lock.acquire()
        if self._instance is not None:
            self._instance.close()
        self._instance = None
        self.failed = "closed"
        self._lock.release()
