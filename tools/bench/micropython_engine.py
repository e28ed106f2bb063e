"""The board's engine under MicroPython: call overhead, heap per actor, install peak, code size.

    .venv/bin/python tools/bench/micropython_engine.py [--calls N] [--payload BYTES] [--rounds R]
                                                       [--runtime circuitpython]

Runs on the board's MicroPython (the unix port with firmware/cmodules/wasm3, built by
edgecli.mpbuild), or with --runtime circuitpython on the board's CircuitPython (edgecli.cpbuild;
without the stand-ins of tools/cpboard/, which would time themselves, not the interpreter).
Figures:

- waPC echo through WapcHost against a bare call of the same export (the fewest Python steps
  the wasm3 module allows), and a host-call round trip (hostcall actor, Relay) both ways; best
  round of R, rounds alternating, so a noisy machine disturbs both alike;
- heap an actor takes once loaded (gc.mem_alloc before and after, collected);
- peak heap of a 100 KB install: the smallest -X heapsize at which loading a 100 KB module from
  a file (read, hash, inspect, instantiate) and calling it succeeds, found by bisection;
- code the wasm3 module adds: `size` of the binary against the same port built without it
  (MicroPython only: it is the same C module on CircuitPython).

Ends with `host_overhead_ratio=<host time per call / bare time per call>`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from edgecli import actorbuild, cpbuild, mpbuild

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
INSTALL_SIZE = 100 * 1024
RUNTIMES = {"micropython": (mpbuild.ensure_built, "MicroPython 1.28.0"),
            "circuitpython": (cpbuild.ensure_built, "CircuitPython " + cpbuild.VERSION)}


def board_env() -> dict[str, str]:
    path = ":".join(str(p) for p in (ROOT / "firmware", ROOT / "shared", HERE))
    return dict(os.environ, MICROPYPATH=path)


def run_board(binary: Path, heap: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary), "-X", "heapsize=" + heap, *args], env=board_env(),
                          capture_output=True, text=True, timeout=600)


def figures(output: str) -> dict[str, str]:
    found = {}
    for line in output.splitlines():
        for part in line.split():
            if "=" in part:
                name, value = part.split("=", 1)
                found[name] = value
    return found


def padded_module(echo: bytes, size: int) -> bytes:
    """The echo actor grown to `size` bytes by a custom section, as a signed module is."""
    name = b"pad"
    body_len = size - len(echo) - 1 - 3 - 1 - len(name)  # id, 3-byte LEB size, name
    body = bytes([len(name)]) + name + bytes(body_len)
    n = len(body)
    leb = bytes([0x80 | (n & 0x7F), 0x80 | ((n >> 7) & 0x7F), (n >> 14) & 0x7F])
    return echo + b"\x00" + leb + body


def install_peak_kib(binary: Path, module: Path) -> int:
    """The smallest heap (KiB, to 4 KiB) in which the install of `module` succeeds."""
    low, high = 64, 4096
    if run_board(binary, "%dK" % high, str(HERE / "mp_engine_install.py"),
                 str(module)).returncode != 0:
        raise SystemExit("the install does not fit even in %d KiB" % high)
    while high - low > 4:
        mid = (low + high) // 2
        done = run_board(binary, "%dK" % mid, str(HERE / "mp_engine_install.py"), str(module))
        if done.returncode == 0:
            high = mid
        else:
            low = mid
    return high


def code_size(binary: Path) -> int:
    text, data = subprocess.run(["size", str(binary)], capture_output=True, text=True,
                                check=True).stdout.splitlines()[1].split()[:2]
    return int(text) + int(data)


def plain_binary() -> Path:
    """The same unix port, same flags, without the wasm3 module (built once, beside it)."""
    mpy = mpbuild.OUTPUT / "src" / "micropython"
    build = mpbuild.build_folder("build-plain")
    binary = mpy / "ports" / "unix" / build / "micropython"
    if not binary.exists():
        print("building the unix port without the wasm3 module (about a minute)",
              file=sys.stderr)
        manifest = "FROZEN_MANIFEST=%s" % (mpbuild.OUTPUT / "manifest.py")
        subprocess.run(["make", mpbuild.JOBS, "-C", str(mpy / "ports" / "unix"),
                        "BUILD=" + build, *mpbuild.MAKE_FLAGS, manifest],
                       check=True, capture_output=True)
    return binary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000, help="calls per round")
    parser.add_argument("--payload", type=int, default=64, help="echo payload size in bytes")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runtime", choices=list(RUNTIMES), default="micropython",
                        help="the board interpreter to measure on (default micropython)")
    args = parser.parse_args(argv)

    build, runtime = RUNTIMES[args.runtime]
    binary = build()
    built = actorbuild.build_all()
    done = run_board(binary, "16M", str(HERE / "mp_engine_calls.py"), str(actorbuild.OUTPUT),
                     str(args.calls), str(args.payload), str(args.rounds))
    if done.returncode != 0:
        print(done.stdout + done.stderr, file=sys.stderr)
        return 1
    seen = figures(done.stdout)
    host, bare = float(seen["host_us"]), float(seen["bare_us"])
    relay, bare_relay = float(seen["host_relay_us"]), float(seen["bare_relay_us"])
    print("%s, wasm3 %s; payload %d bytes, %d calls x %d rounds, best round"
          % (runtime, "0.9.0", args.payload, args.calls, args.rounds))
    print("  echo through WapcHost   %7.2f us/call" % host)
    print("  echo, bare export call  %7.2f us/call" % bare)
    print("  host call, WapcHost     %7.2f us/call (Relay: one __host_call)" % relay)
    print("  host call, bare         %7.2f us/call" % bare_relay)
    for line in done.stdout.splitlines():
        if line.startswith("heap_"):
            name, rest = line[5:].split("=", 1)
            taken, module = rest.split(" module=")
            print("  heap per loaded actor   %7d bytes (%s, a %s-byte module)"
                  % (int(taken), name, module))

    with tempfile.TemporaryDirectory() as scratch:
        module = Path(scratch) / "big.wasm"
        module.write_bytes(padded_module(built["echo"].read_bytes(), INSTALL_SIZE))
        peak = install_peak_kib(binary, module)
        small = install_peak_kib(binary, built["echo"])
    print("  100 KB install fits in  %7d KiB of heap (smallest -X heapsize, 4 KiB steps)" % peak)
    print("  the same, 1.3 KB echo   %7d KiB: the 100 KB take %d KiB more at the peak"
          % (small, peak - small))
    if args.runtime == "micropython":
        added = code_size(binary) - code_size(plain_binary())
        print("  code the module adds    %7d bytes (size: text + data)" % added)
    print("host_call_ratio=%.2f" % (relay / bare_relay))
    print("host_overhead_ratio=%.2f" % (host / bare))
    return 0


if __name__ == "__main__":
    sys.exit(main())
