"""Run under the board's MicroPython by micropython_engine.py: waPC calls through WapcHost
against a bare call of the same export, a host-call round trip, and heap per loaded actor.

    micropython mp_engine_calls.py ACTORS_DIR CALLS PAYLOAD ROUNDS [RUNNER]

With RUNNER (host, bare, host_relay or bare_relay) only that one runs and no heap is measured:
under `valgrind --tool=callgrind`, two runs that differ only in CALLS give the instructions of
one call (docs/PERFORMANCE.md).
"""

import gc
import sys
import time

import wasm3

from edgehost.wapc import Limits, WapcHost


class BareExchange:
    """The floor: the waPC exchange written straight against the wasm3 module, no checks."""

    def __init__(self, module_bytes, host_call=None):
        self.env = wasm3.Environment()
        self.runtime = self.env.new_runtime(64 * 1024)
        self.module = self.env.parse_module(module_bytes)
        self.runtime.load(self.module)
        self.op = self.payload = self.response = self.host_response = b""
        get_memory = self.runtime.get_memory

        def guest_request(op_ptr, ptr):
            mem = get_memory(0)
            mem[op_ptr:op_ptr + len(self.op)] = self.op
            mem[ptr:ptr + len(self.payload)] = self.payload

        def guest_response(ptr, n):
            self.response = bytes(get_memory(0)[ptr:ptr + n])

        def host_call_fn(bp, bl, np_, nl, op, ol, ptr, n):
            mem = get_memory(0)
            self.host_response = host_call(
                str(bytes(mem[bp:bp + bl]), "utf-8"), str(bytes(mem[np_:np_ + nl]), "utf-8"),
                str(bytes(mem[op:op + ol]), "utf-8"), bytes(mem[ptr:ptr + n]))
            return 1

        def host_response(ptr):
            get_memory(0)[ptr:ptr + len(self.host_response)] = self.host_response

        links = (
            ("__guest_request", "v(ii)", guest_request),
            ("__guest_response", "v(ii)", guest_response),
            ("__guest_error", "v(ii)", lambda p, n: None),
            ("__host_call", "i(iiiiiiii)", host_call_fn),
            ("__host_response_len", "i()", lambda: len(self.host_response)),
            ("__host_response", "v(i)", host_response),
            ("__host_error_len", "i()", lambda: 0),
            ("__host_error", "v(i)", lambda p: None),
            ("__console_log", "v(ii)", lambda p, n: None),
        )
        for name, signature, fn in links:
            self.module.link_function("*", name, signature, fn)
        self.guest_call = self.runtime.find_function("__guest_call")

    def call(self, op, payload):
        self.op = op
        self.payload = payload
        if self.guest_call(len(op), len(payload)) != 1:
            raise RuntimeError("bare exchange: the guest failed")
        return self.response


def per_call_us(fn, calls):
    start = time.ticks_us()
    for _ in range(calls):
        fn()
    return time.ticks_diff(time.ticks_us(), start) / calls


def heap_taken(make):
    """Heap bytes an object keeps once made (gc.mem_alloc before and after, collected)."""
    gc.collect()
    before = gc.mem_alloc()
    kept = make()
    gc.collect()
    taken = gc.mem_alloc() - before
    return kept, taken


def time_calls(load, calls, size, rounds, only=None):
    """{name: best us per call} for echo and Relay, through WapcHost and bare."""
    payload = bytes(i % 256 for i in range(size))

    def same(binding, namespace, operation, data):
        return data

    runs = {
        "host": (WapcHost("echo", load("echo"), limits=Limits(max_payload=max(size, 1024))),
                 b"Echo"),
        "bare": (BareExchange(load("echo")), b"Echo"),
        "host_relay": (WapcHost("hostcall", load("hostcall"), host_call=same), b"Relay"),
        "bare_relay": (BareExchange(load("hostcall"), host_call=same), b"Relay"),
    }
    if only is not None:
        runs = {only: runs[only]}
    for runner, op in runs.values():
        assert runner.call(op, payload) == payload
    best = {}
    for _ in range(rounds):
        for name, (runner, op) in runs.items():
            took = per_call_us(lambda: runner.call(op, payload), calls)  # noqa: B023
            best[name] = min(best.get(name, took), took)
    return best


def main(actors_dir, calls, size, rounds, only=None):
    def load(name):
        with open(actors_dir + "/" + name + ".wasm", "rb") as stream:
            return stream.read()

    best = time_calls(load, calls, size, rounds, only)
    for name in best:
        print("%s_us=%.2f" % (name, best[name]))
    if only is not None:
        return
    for name in ("echo", "hostcall", "grow"):
        data = load(name)
        kept, taken = heap_taken(lambda: WapcHost(name, data))  # noqa: B023
        print("heap_%s=%d module=%d" % (name, taken, len(data)))
        del kept


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), *sys.argv[5:6])
