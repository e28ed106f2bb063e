"""What the ahead-of-time tier and wasm3 do with the same actors, printed a line per outcome
(board code: runs on the board's MicroPython with a translation built by edgecli.aot)."""

import struct

from edgehost import aotengine
from edgehost.wapc import Limits, WapcHost


def _outcome(host, operation, payload):
    try:
        return "%s -> %r" % (operation, host.call(operation, payload))
    except Exception as exc:  # noqa: BLE001 - the outcome is what the test compares
        return "%s -> %s: %s" % (operation, type(exc).__name__, exc)


def _module_and_engine(wasm_path, mpy_path, engine_name):
    """The module's bytes, and the engine named: the tier with the translation at `mpy_path`
    ("aot"), or None, the board's wasm3 ("wasm3")."""
    with open(wasm_path, "rb") as f:
        module = f.read()
    if engine_name == "aot":
        return module, aotengine.AotEngine(aotengine.load(mpy_path))
    return module, None


CALLS = {
    "echo": [("Echo", b"hello tier"), ("HealthRequest", b""), ("Nope", b"")],
    "crunch": [("Crunch", struct.pack("<I", 50)), ("Crunch", b"x")],
    "faults": [("Unreachable", b""), ("OutOfBounds", b""), ("DivideByZero", b""),
               ("Recurse", b""), ("Count", b""), ("Fail", b""), ("Count", b"")],
    "runaway": [("Spin", b""), ("Count", b""), ("Grow", struct.pack("<I", 20)),
                ("Grow", struct.pack("<I", 1))],
}


def run(actor, wasm_path, mpy_path, engine_name, out=print):
    """Runs CALLS[actor] on `engine_name` ("aot" or "wasm3"); a runaway call stops at 200 ms,
    and linear memory is capped at 16 pages."""
    module, engine = _module_and_engine(wasm_path, mpy_path, engine_name)
    host = WapcHost(actor, module, limits=Limits(memory_pages=16, deadline_ms=200), engine=engine)
    for operation, payload in CALLS[actor]:
        out(_outcome(host, operation, payload))
    host.close()


def host_time(actor, wasm_path, mpy_path, engine_name, *passes, out=print):
    """The afterhost actor with a 200 ms deadline whose host call and console line each take
    300 ms, followed by each of `passes` loop passes of its own: time in the host does not
    count against the deadline, the guest's own does."""
    from edgelink.clock import sleep_ms

    module, engine = _module_and_engine(wasm_path, mpy_path, engine_name)

    def slow_host(binding, namespace, operation, payload):
        sleep_ms(300)
        return b"relayed"

    def slow_log(text):
        sleep_ms(300)
        out("log: " + text)

    host = WapcHost(actor, module, limits=Limits(deadline_ms=200), host_call=slow_host,
                    on_log=slow_log, engine=engine)
    for count in passes:
        for operation in ("Relay", "Log"):
            out("%d passes: %s" % (count, _outcome(host, operation, struct.pack("<I", count))))
    host.close()


def mismatched(wasm_path, mpy_path, out=print):
    """Offers the translation of one actor with another actor's module."""
    with open(wasm_path, "rb") as f:
        module = f.read()
    try:
        WapcHost("other", module, engine=aotengine.AotEngine(aotengine.load(mpy_path)))
        out("loaded")
    except Exception as exc:  # noqa: BLE001 - the outcome is what the test compares
        out("%s: %s" % (type(exc).__name__, exc))


def host_scenarios(names, actors_dir, mpy_paths, engine_name, out=print):
    """Runs host_scenarios' `names` on `engine_name`: "aot" puts the translations in `mpy_paths`
    in the place of the board's wasm3 engine, as a board with the tier on would."""
    import host_scenarios as scenarios

    from edgehost import wapc

    if engine_name == "aot":
        wapc.wasm3_engine = aotengine.AotEngine(*[aotengine.load(p) for p in mpy_paths])
    for name in names:
        out("== " + name)
        scenarios.run(name, actors_dir, out)


def deep_recursion(actor, wasm_path, mpy_path, engine_name, out=print):
    """Faults' Recurse, then Count, twice, with an engine stack budget (16 MB) past the native
    stack, so that only MicroPython's own limit can stop the recursion. (Not in a thread: a
    thread's Python stack on the board's build is too small to rebuild an actor.)"""
    module, engine = _module_and_engine(wasm_path, mpy_path, engine_name)
    host = WapcHost(actor, module, limits=Limits(stack_bytes=16 * 1024 * 1024), engine=engine)
    for operation in ("Recurse", "Count", "Recurse", "Count"):
        out(_outcome(host, operation, b""))
    host.close()


def exchange(actor, wasm_path, mpy_path, engine_name, out=print):
    """Who serves the faults actor's waPC host functions (the engine, in C, or edgehost.wapc in
    Python), and, on the tier, a host function linked to the exchange that it does not serve."""
    module, engine = _module_and_engine(wasm_path, mpy_path, engine_name)
    logs = []
    host = WapcHost(actor, module, engine=engine, on_log=logs.append)
    out("served by the engine: %s" % (host._instance.exchange.state
                                      is not host._instance.exchange))
    out(_outcome(host, "Log", b"in C"))
    out(repr(logs))
    host.close()
    if engine is not None:
        instance = engine.Instance(module, 64 * 1024)
        native = instance.exchange(1024, 512, None)
        try:
            instance.link_function("wapc", "__host_call", "i(iiiiiiii)", native)
            out("linked")
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test compares
            out("%s: %s" % (type(exc).__name__, exc))
        instance.close()
