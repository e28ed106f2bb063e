"""The waPC host's scenarios, written once to run on both engines: pywasm3 under CPython and
the board's wasm3 module under MicroPython. Each prints what a user of the host would see.

Run as `run(name, actors_dir)`; `out(line)` collects the lines (print under MicroPython).
"""

from edgehost.wapc import Limits, WapcError, WapcHost

# The board caps memory at the actor's pages: growing to about 18 of them needs the room.
BIG = Limits(max_payload=2 * 1024 * 1024, memory_pages=32)
SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


def u32(n):
    return n.to_bytes(4, "little")


def pattern(n):
    return bytes(i % 251 for i in range(n))


def reverse(data):
    return bytes(reversed(data))


def attempt(out, label, fn, *args):
    """Run fn(*args); print its answer or the host's error class and message."""
    try:
        answer = fn(*args)
    except WapcError as exc:
        out("%s: %s %s" % (label, type(exc).__name__, exc))
        return exc
    out("%s: %r" % (label, answer))
    return answer


@scenario
def echo_and_health(out, load):
    host = WapcHost("echo", load("echo"))
    out(repr(host.call("Echo", b"hello board")))
    out(repr(host.call(b"Echo", b"")))
    out("%s %r" % (host.health_operation, host.call(host.health_operation)))
    wasmbus = WapcHost("wasmbus_echo", load("wasmbus_echo"))
    out("%d %s %r" % (wasmbus.rpc_version, wasmbus.health_operation,
                      wasmbus.call(wasmbus.health_operation)))
    out(repr(wasmbus.call("Echo.Echo", b"over wasmbus")))
    tiny = WapcHost("tinygo_style", load("tinygo_style"))
    out(repr(tiny.call("Echo", b"tiny")))
    attempt(out, "unknown", host.call, "Frobnicate", b"x")
    out(repr(host.call("Echo", bytearray(b"ok")) + host.call(b"Echo", memoryview(b"fine"))))


@scenario
def start_functions(out, load):
    logs = []
    host = WapcHost("startup_order", load("startup_order"), on_log=logs.append)
    out(",".join(logs))
    out(repr(host.call("Started")))

    def broken(text):
        raise RuntimeError("log sink gone")

    host = WapcHost("startup_order", load("startup_order"), on_log=broken)
    out(repr(host.call("Started")[:21]))


@scenario
def host_calls(out, load):
    seen = []

    def relay(binding, namespace, operation, payload):
        seen.append((binding, namespace, operation, payload))
        return reverse(payload)

    host = WapcHost("hostcall", load("hostcall"), host_call=relay)
    out(repr(host.call("Relay", b"ping")))
    out(repr(seen))

    def refuse(binding, namespace, operation, payload):
        raise LookupError("no link for example:relay")

    host = WapcHost("hostcall", load("hostcall"), host_call=refuse)
    attempt(out, "refused", host.call, "Relay", b"ping")
    out(repr(host.call("HealthRequest")))
    attempt(out, "no handler", WapcHost("hostcall", load("hostcall")).call, "Relay", b"ping")
    host = WapcHost("hostcall", load("hostcall"), host_call=lambda *args: None)
    attempt(out, "not bytes", host.call, "Relay", b"ping")
    host = WapcHost("hostcall", load("hostcall"), host_call=lambda *args: bytes(2048),
                    limits=Limits(max_payload=1024))
    attempt(out, "too big", host.call, "Relay", b"ping")

    logs = []
    answers = [ValueError("denied"), b"relayed"]

    def wasmbus_relay(binding, namespace, operation, payload):
        answer = answers.pop()
        if isinstance(answer, Exception):
            raise answer
        return answer + b": " + payload

    host = WapcHost("wasmbus_echo", load("wasmbus_echo"), host_call=wasmbus_relay,
                    on_log=logs.append)
    attempt(out, "wasmbus", host.call, "Echo.Relay", b"hi")
    attempt(out, "wasmbus", host.call, "Echo.Relay", b"hi")
    out(repr(logs))

    holder = {}
    host = WapcHost("hostcall", load("hostcall"),
                    host_call=lambda *args: holder["host"].call("HealthRequest"))
    holder["host"] = host
    attempt(out, "re-entrant", host.call, "Relay", b"x")


@scenario
def traps(out, load):
    host = WapcHost("faults", load("faults"))
    out(repr(host.call("Count") + host.call("Count")))
    attempt(out, "Fail", host.call, "Fail")
    attempt(out, "FailSilently", host.call, "FailSilently")
    out(repr(host.call("Count")))  # a guest error keeps the instance
    for operation in ("Unreachable", "OutOfBounds", "DivideByZero", "Recurse", "WildResponse",
                      "WildLog"):
        trap = attempt(out, operation, host.call, operation)
        out("rebuilt %s, then Count %r" % (trap.rebuilt, host.call("Count")))


@scenario
def console_lines_and_host_errors(out, load):
    """Console lines cut at max_log or not UTF-8, a failing log sink, copies of nothing, and a
    host error written to a pointer outside memory."""
    logs = []
    host = WapcHost("faults", load("faults"), on_log=logs.append, limits=Limits(max_log=8))
    for payload in (b"0123456789ABCDEF", b"\xffok", b"short", b""):
        out(repr(host.call("Log", payload)))
    out(repr(logs))

    def broken(text):
        raise RuntimeError("log sink gone")

    host = WapcHost("faults", load("faults"), on_log=broken)
    out(repr(host.call("Log", b"lost")))
    out(repr(host.call("WildEmpty")))
    trap = attempt(out, "WildHostError", host.call, "WildHostError", b"x")
    out("rebuilt %s, then Count %r" % (trap.rebuilt, host.call("Count")))


@scenario
def big_payloads_and_growth(out, load):
    host = WapcHost("grow", load("grow"), limits=BIG)
    size = 1024 * 1024  # the actor starts with 2 pages and grows to about 18
    out("Fill %s" % (host.call("Fill", u32(size)) == pattern(size)))
    answer = pattern(300 * 1024)
    host = WapcHost("grow", load("grow"), host_call=lambda *args: answer, limits=BIG)
    out("GrowThenRelay %s" % (host.call("GrowThenRelay", u32(512 * 1024) + b"please") == answer))
    host = WapcHost("echo", load("echo"), limits=Limits(max_payload=256 * 1024))
    for size in (64 * 1024, 64 * 1024 + 1, 200 * 1024):
        payload = pattern(size)
        out("Echo %d %s" % (size, host.call("Echo", payload) == payload))
    big = pattern(64 * 1024)
    host = WapcHost("hostcall", load("hostcall"), host_call=lambda b, n, o, p: reverse(p))
    out("Relay %s" % (host.call("Relay", big) == reverse(big)))
    host = WapcHost("faults", load("faults"), limits=Limits(max_payload=1000))
    attempt(out, "payload", host.call, "Count", bytes(1001))
    out(repr(host.call("Count", bytes(1000))))
    host = WapcHost("grow", load("grow"), limits=Limits(max_payload=4096))
    attempt(out, "answer", host.call, "Fill", u32(5000))
    out("Fill 4096 %s" % (host.call("Fill", u32(4096)) == pattern(4096)))


@scenario
def refusals(out, load):
    for name, limits in (("bad_import", None), ("no_guest_call", None),
                         ("big_memory", Limits(memory_pages=16))):
        attempt(out, name, WapcHost, name, load(name), None, limits)
    host = WapcHost("big_memory", load("big_memory"), limits=Limits(memory_pages=17))
    out(repr(host.call("Echo", b"roomy")))
    for label, data in (("empty", b""), ("elf", b"\x7fELF\x02\x01\x01\x00"),
                        ("truncated", b"\x00asm\x01\x00\x00\x00\x01\x09\x01")):
        refused = attempt(out, label, WapcHost, "junk", data)
        out("rule %s" % refused.rule)
    body = b"\x00\xff\x0b"  # __guest_call's body holds opcode 0xff
    broken = (b"\x00asm\x01\x00\x00\x00" + b"\x01\x07\x01\x60\x02\x7f\x7f\x01\x7f"
              + b"\x03\x02\x01\x00" + b"\x07\x10\x01\x0c__guest_call\x00\x00"
              + b"\x0a" + bytes([len(body) + 2, 1, len(body)]) + body)
    refused = attempt(out, "broken", WapcHost, "broken", broken)
    out("rule %s" % refused.rule)


@scenario
def start_traps_and_swap(out, load):
    def no(*args):
        raise ValueError("not today")

    attempt(out, "init", WapcHost, "init_check", load("init_check"), no)

    allowed = {"start": True}

    def init_check(binding, namespace, operation, payload):
        if not allowed["start"]:
            raise ValueError("no more starts")
        return b""

    host = WapcHost("init_check", load("init_check"), host_call=init_check)
    allowed["start"] = False
    trap = attempt(out, "crash", host.call, "Crash")
    out("rebuilt %s; failed: %s" % (trap.rebuilt, host.failed))
    attempt(out, "after", host.call, "Echo", b"anyone?")
    allowed["start"] = True
    host.swap(load("init_check"))
    out(repr(host.call("Echo", b"back")))

    host = WapcHost("swap", load("echo"))
    out(repr(host.call("Echo", b"one")))
    host.swap(load("shout"))
    out(repr(host.call("Echo", b"two")))
    refused = attempt(out, "bad swap", host.swap, load("bad_import"))
    out("rule %s, still %r" % (refused.rule, host.call("Echo", b"three")))
    host.close()
    attempt(out, "closed", host.call, "Echo")


@scenario
def deadline(out, load):
    """A runaway call is stopped and the actor rebuilt (only where the engine enforces it)."""
    logs = []

    def slow_host(binding, namespace, operation, payload):
        end = _ticks_ms() + 300  # time in the host does not count against the guest
        while _ticks_ms() < end:
            pass
        logs.append(operation)
        return payload

    host = WapcHost("runaway", load("runaway"), limits=Limits(deadline_ms=100))
    out(repr(host.call("Count")))
    out("SpinCounted 3: %r" % host.call("SpinCounted", u32(3)))
    # Spin's loop closes with br, SpinCounted's with br_if: each must reach the deadline's probe
    for operation, payload in (("Spin", b""), ("SpinCalls", b""),
                               ("SpinCounted", u32(0xFFFFFFFF))):
        trap = attempt(out, operation, host.call, operation, payload)
        out("rebuilt %s, then Count %r" % (getattr(trap, "rebuilt", "(no trap)"),
                                           host.call("Count")))
    relay = WapcHost("hostcall", load("hostcall"), host_call=slow_host,
                     limits=Limits(deadline_ms=100))
    attempt(out, "slow host", relay.call, "Relay", b"slow host")
    out(repr(logs))


@scenario
def memory_cap(out, load):
    """memory.grow past the actor's pages: refused where the engine enforces the cap."""
    host = WapcHost("runaway", load("runaway"), limits=Limits(memory_pages=4))
    for _ in range(3):
        before = int.from_bytes(host.call("Grow", u32(1)), "little")
        out("Grow 1 page: %d" % (before - (1 << 32) if before >= 1 << 31 else before))
    host = WapcHost("grow", load("grow"), limits=Limits(max_payload=2 * 1024 * 1024))
    try:
        filled = host.call("Fill", u32(1024 * 1024)) == pattern(1024 * 1024)
        out("Fill 1 MiB in 16 pages: %s" % filled)
    except WapcError as exc:
        out("Fill 1 MiB in 16 pages: %s" % exc)


def _ticks_ms():
    import time

    if hasattr(time, "ticks_ms"):
        return time.ticks_ms()
    return int(time.monotonic() * 1000)


def relay_instance(load, host_call):
    """The hostcall actor on the engine alone, asked to Relay "ping" to `host_call`."""
    from edgehost import engine

    instance = engine.Instance(load("hostcall"), 64 * 1024)

    def guest_request(op_ptr, ptr):
        mem = instance.get_memory(0)
        mem[op_ptr:op_ptr + 5] = b"Relay"
        mem[ptr:ptr + 4] = b"ping"

    instance.link_function("wapc", "__host_call", "i(iiiiiiii)", host_call)
    instance.link_function("wapc", "__guest_request", "v(ii)", guest_request)
    for name in ("__guest_response", "__guest_error", "__console_log"):
        instance.link_function("*", name, "v(ii)", lambda a, b: None)
    for name in ("__host_response", "__host_error"):
        instance.link_function("*", name, "v(i)", lambda a: None)
    for name in ("__host_response_len", "__host_error_len"):
        instance.link_function("*", name, "i()", lambda: 0)
    return instance


@scenario
def guest_faults_from_host_functions(out, load):
    """An exception a host function raises comes back to the caller as that exception."""
    class Refusal(Exception):
        pass

    def refuse(*args):
        raise Refusal("from the host")

    instance = relay_instance(load, refuse)
    call = instance.find_function("__guest_call")
    for _ in range(2):
        try:
            call(5, 4)
            out("no exception")
        except Refusal as exc:
            out("Refusal %s" % exc)
    mem = instance.get_memory(0)
    out("memory %d bytes" % len(mem))


def run(name, actors_dir, out=print):
    def load(actor):
        with open(actors_dir + "/" + actor + ".wasm", "rb") as stream:
            return stream.read()

    SCENARIOS[name](out, load)


@scenario
def newer_features(out, load):
    """A module built with bulk memory, sign extension and multi-value."""
    try:
        host = WapcHost("features", load("features"))
    except WapcError as exc:
        out("refused: %s" % exc)
        return
    for operation, payload in (("Copy", b"copied"), ("Fill", b"12345"),
                               ("SignExtend", b"\x7f\x80\xff"), ("Pair", u32(0x00070005))):
        attempt(out, operation, host.call, operation, payload)


def refusals_shown(out):
    """show(label, fn, *args): runs fn(*args) and prints "accepted" or the exception, one line."""
    def show(label, fn, *args):
        try:
            fn(*args)
            out("%s: accepted" % label)
        except Exception as exc:
            out("%s: %s %s" % (label, type(exc).__name__, exc))

    return show


@scenario
def binding_misuse(out, load):
    """The wasm3 module's own refusals, each one line (board engine only)."""
    import wasm3

    env = wasm3.Environment()
    runtime = env.new_runtime(64 * 1024)
    module = env.parse_module(load("echo"))
    no_memory = env.parse_module(b"\x00asm\x01\x00\x00\x00")

    show = refusals_shown(out)

    show("stack", env.new_runtime, 16)
    show("stack above the heap", env.new_runtime, 1 << 30)
    show("link before load", module.link_function, "wapc", "__console_log", "v(ii)", print)
    show("load a str", runtime.load, "echo")
    runtime.load(module)
    show("load twice", runtime.load, module)
    show("link a non-callable", module.link_function, "wapc", "__console_log", "v(ii)", 42)
    show("link the wrong signature", module.link_function, "wapc", "__guest_error", "i(i)", print)
    show("memory limit", runtime.set_memory_limit, -1)
    show("memory limit below the memory", runtime.set_memory_limit, 1)
    show("deadline", runtime.set_deadline, -5)
    show("unknown function", runtime.find_function, "nope")
    call = runtime.find_function("__guest_call")
    show("argument count", call, 1)
    show("keyword arguments", lambda: call(1, length=2))
    empty = env.new_runtime(1024)
    empty.load(no_memory)
    show("no memory", empty.get_memory, 0)


@scenario
def exchange_misuse(out, load):
    """The wasm3 module's waPC exchange refuses misuse, one line each (board engine only)."""
    import wasm3

    env = wasm3.Environment()
    runtime = env.new_runtime(64 * 1024)
    module = env.parse_module(load("echo"))
    runtime.load(module)
    exchange = wasm3.Exchange(runtime, 1024, 512, None)

    show = refusals_shown(out)

    def store(name, value):
        setattr(exchange, name, value)

    show("no runtime", wasm3.Exchange, "runtime", 1024, 512, None)
    show("negative limit", wasm3.Exchange, runtime, -1, 512, None)
    show("link the host call", module.link_function, "wapc", "__host_call", "i(iiiiiiii)",
         exchange)
    show("link the wrong signature", module.link_function, "wapc", "__guest_error", "i(i)",
         exchange)
    show("begin with an int", exchange.begin, 42, b"")
    show("host response of None", store, "host_response", None)
    show("set the response", store, "response", b"forged")


def allocated(fn, times=100):
    """Heap bytes one fn() allocates, over `times` calls with the collector off (the board)."""
    import gc

    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    for _ in range(times):
        fn()
    taken = gc.mem_alloc() - before
    gc.enable()
    return taken // times


@scenario
def heap_per_call(out, load):
    """An echo call on the board allocates its answer and nothing else."""
    host = WapcHost("echo", load("echo"))
    payload = bytes(range(64))
    view = memoryview(bytearray(payload))
    host.call(b"Echo", payload)
    answer = allocated(lambda: bytes(view))
    call = allocated(lambda: host.call(b"Echo", payload))
    out("an echo call allocates %d bytes beyond its answer" % (call - answer))


@scenario
def heap_per_call_by_name(out, load):
    """Named by a str, as the link delivers it (a new str each call), an echo call allocates
    no bytes for its name when the name is the one of the call before."""
    host = WapcHost("echo", load("echo"))
    payload = bytes(range(64))
    view = memoryview(bytearray(payload))
    names = iter([str(b"Ec", "utf-8") + str(b"ho", "utf-8") for _ in range(101)])
    host.call(next(names), payload)
    answer = allocated(lambda: bytes(view))
    call = allocated(lambda: host.call(next(names), payload))
    out("an echo call by name allocates %d bytes beyond its answer" % (call - answer))


# (func (export "swap") (param i64 f64) (result f64 i64) local.get 1 local.get 0)
SWAP_MODULE = (b"\x00asm\x01\x00\x00\x00" + b"\x01\x08\x01\x60\x02\x7e\x7c\x02\x7c\x7e"
               + b"\x03\x02\x01\x00" + b"\x07\x08\x01\x04swap\x00\x00"
               + b"\x0a\x08\x01\x06\x00\x20\x01\x20\x00\x0b")


@scenario
def values(out, load):
    """i64 and f64 both ways, several results, and a host function's answer of the wrong type."""
    import wasm3

    env = wasm3.Environment()
    runtime = env.new_runtime(4096)
    runtime.load(env.parse_module(SWAP_MODULE))
    swap = runtime.find_function("swap")
    for args in ((2 ** 40 + 3, 1.5), (-7, -0.25), (2 ** 63 - 1, 0.0)):
        out(repr(swap(*args)))

    instance = relay_instance(load, lambda *args: "yes")
    guest_call = instance.find_function("__guest_call")
    try:
        guest_call(5, 4)
        out("wrong type: accepted")
    except Exception as exc:
        out("wrong type: %s" % type(exc).__name__)


@scenario
def mapped_module(out, load):
    """A 1 MiB stored module read in place (wasm3.map_file) against read into RAM."""
    import gc

    from edgehost import port

    pad = b"\x03pad" + bytes(1024 * 1024)
    n = len(pad)
    with open("big.wasm", "wb") as stream:
        stream.write(load("echo") + b"\x00" + bytes([0x80 | (n & 0x7F), 0x80 | (n >> 7 & 0x7F),
                                                     n >> 14]) + pad)

    def heap_of(make):
        gc.collect()
        before = gc.mem_alloc()
        host = make()
        gc.collect()
        return host, gc.mem_alloc() - before

    def read():
        with open("big.wasm", "rb") as stream:
            return WapcHost("big", stream.read())

    host, in_ram = heap_of(read)
    out("read into RAM: %r" % host.call("Echo", b"one"))
    host = None
    host, mapped = heap_of(lambda: WapcHost("big", port.map_file("big.wasm")))
    out("mapped: %r" % host.call("Echo", b"two"))
    out("saved at least 1 MiB: %s" % (in_ram - mapped >= 1024 * 1024))
    try:
        port.map_file("missing.wasm")
    except OSError as exc:
        out("missing: OSError %d" % exc.errno)


@scenario
def linear_memory(out, load):
    """Actors' linear memory off the heap, held to the limit the board sets (board engine only):
    a load past it is refused as any allocation the engine cannot make, and a host dropped
    gives its memory back."""
    import gc

    import wasm3

    from edgehost import port

    gc.collect()
    before = gc.mem_alloc()
    first = WapcHost("echo", load("echo"))
    gc.collect()
    out("2 pages off the heap: %s" % (wasm3.linear_memory_used() >= 2 * 65536 > gc.mem_alloc()
                                      - before))
    port.limit_linear_memory(wasm3.linear_memory_used() + 2 * 65536 + 64)
    second = WapcHost("grow", load("grow"), limits=BIG)
    attempt(out, "past the limit", WapcHost, "echo", load("echo"))
    attempt(out, "growth past the limit", second.call, "Fill", u32(256 * 1024))
    del first  # its runtime is garbage now: the finaliser frees its linear memory
    gc.collect()
    third = WapcHost("echo", load("echo"))
    out("after one is dropped: %r" % third.call("Echo", b"room again"))
    out("the second still answers: %s" % (second.call("Fill", u32(16)) == pattern(16)))
    try:
        wasm3.set_linear_memory_limit(-1)
    except ValueError as exc:
        out("negative: ValueError %s" % exc)
    wasm3.set_linear_memory_limit(0)
