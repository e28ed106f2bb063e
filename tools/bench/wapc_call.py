"""waPC echo calls per second through edgehost's WapcHost against the bare pywasm3 exchange.

    .venv/bin/python tools/bench/wapc_call.py [--calls N] [--payload BYTES] [--rounds R]
                                              [--only host|bare|host_relay|bare_relay]

Both run the same echo actor in the same process; the bare exchange (the floor) is the
fewest Python steps pywasm3 allows: host functions that copy the request in and the response
out, nothing else. A host-call round trip (hostcall actor, Relay) is measured the same way.
Rounds alternate host and bare, and the best round of each counts, so a noisy machine
disturbs both alike. Ends with `host_overhead_ratio=<host time per call / bare time per call>`.

With --only, that one runs alone and no ratio is printed: under `valgrind --tool=callgrind`,
two runs that differ only in --calls give the CPU instructions of one call, which a busy
machine does not move (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import wasm3

from edgecli import actorbuild
from edgehost.wapc import Limits, WapcHost


class BareExchange:
    """The floor: the waPC exchange written straight against pywasm3, no checks, no layers."""

    def __init__(self, module_bytes: bytes, host_call: Callable[..., bytes] | None = None):
        self.module_bytes = module_bytes
        env = wasm3.Environment()
        self.runtime = env.new_runtime(64 * 1024)
        self.module = env.parse_module(module_bytes)
        self.runtime.load(self.module)
        self.env = env
        self.op = self.payload = self.response = self.host_response = b""
        self.host_call = host_call
        get_memory = self.runtime.get_memory

        def guest_request(op_ptr: int, ptr: int) -> None:
            mem = get_memory(0)
            mem[op_ptr:op_ptr + len(self.op)] = self.op
            mem[ptr:ptr + len(self.payload)] = self.payload

        def guest_response(ptr: int, n: int) -> None:
            self.response = bytes(get_memory(0)[ptr:ptr + n])

        def host_call_fn(bp, bl, np_, nl, op, ol, ptr, n) -> int:
            mem = get_memory(0)
            self.host_response = self.host_call(
                bytes(mem[bp:bp + bl]).decode(), bytes(mem[np_:np_ + nl]).decode(),
                bytes(mem[op:op + ol]).decode(), bytes(mem[ptr:ptr + n]),
            )
            return 1

        def host_response(ptr: int) -> None:
            get_memory(0)[ptr:ptr + len(self.host_response)] = self.host_response

        links = {
            "__guest_request": ("v(ii)", guest_request),
            "__guest_response": ("v(ii)", guest_response),
            "__guest_error": ("v(ii)", lambda p, n: None),
            "__host_call": ("i(iiiiiiii)", host_call_fn),
            "__host_response_len": ("i()", lambda: len(self.host_response)),
            "__host_response": ("v(i)", host_response),
            "__host_error_len": ("i()", lambda: 0),
            "__host_error": ("v(i)", lambda p: None),
            "__console_log": ("v(ii)", lambda p, n: None),
        }
        for name, (sig, fn) in links.items():
            self.module.link_function("*", name, sig, fn)
        self.guest_call = self.runtime.find_function("__guest_call")

    def call(self, op: bytes, payload: bytes) -> bytes:
        self.op, self.payload = op, payload
        if self.guest_call(len(op), len(payload)) != 1:
            raise RuntimeError("bare exchange: the guest failed")
        return self.response


def per_call(fn: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000, help="calls per round")
    parser.add_argument("--payload", type=int, default=64, help="echo payload size in bytes")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=("host", "bare", "host_relay", "bare_relay"),
                        help="time only this one (for instruction counts)")
    args = parser.parse_args(argv)

    built = actorbuild.build_all()
    echo = built["echo"].read_bytes()
    relay = built["hostcall"].read_bytes()
    payload = bytes(range(256)) * (args.payload // 256) + bytes(args.payload % 256)

    def upper(binding: str, namespace: str, operation: str, data: bytes) -> bytes:
        return data

    host = WapcHost("echo", echo, limits=Limits(max_payload=max(args.payload, 1024)))
    bare = BareExchange(echo)
    host_relay = WapcHost("hostcall", relay, host_call=upper)
    bare_relay = BareExchange(relay, host_call=upper)
    for h, b, op in ((host, bare, "Echo"), (host_relay, bare_relay, "Relay")):
        assert h.call(op, payload) == b.call(op.encode(), payload) == payload

    runs = {
        "host": lambda: host.call("Echo", payload),
        "bare": lambda: bare.call(b"Echo", payload),
        "host_relay": lambda: host_relay.call("Relay", payload),
        "bare_relay": lambda: bare_relay.call(b"Relay", payload),
    }
    if args.only:
        runs = {args.only: runs[args.only]}
    best = dict.fromkeys(runs, 1e9)
    for _ in range(args.rounds):
        for name, run in runs.items():
            best[name] = min(best[name], per_call(run, args.calls))

    print(f"payload {args.payload} bytes, {args.calls} calls x {args.rounds} rounds, best round")
    for name, seconds in best.items():
        print(f"{name:>11}: {1 / seconds:10.0f} calls/s  {seconds * 1e6:7.2f} us/call")
    if args.only:
        return 0
    print(f"host_call_ratio={best['host_relay'] / best['bare_relay']:.2f}")
    print(f"host_overhead_ratio={best['host'] / best['bare']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
