"""Heap an actor takes on the board, measured on the 32-bit build of its MicroPython.

    .venv/bin/python tools/bench/actor_heap.py [--actors NAME,...] [--64bit] [--compile-all]

For the project's own actors and the Rust-shaped ones (17 pages, `wasmbus` imports, modules of
0.1-2 MB: rust_code_* are mostly code, as real Rust actors are; rust_greeter_1800k is
rust_greeter grown by a custom section), each in a fresh interpreter: the heap held through
WapcHost after instantiation and after a first call, the module mapped from its file
(wasm3.map_file, as the board runs modules in place) and read into RAM. The engine's cost is
what a mapped actor holds after its first call beyond its linear memory; edgemodule.fit's
constants come from these figures (docs/PERFORMANCE.md). With --compile-all, each rust_code_*
actor then runs every one of its functions once, so wasm3 has compiled all of its code.

Ends with `engine_bytes_per_code_byte=<slope of the engine's cost over the code section>`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from edgecli import actorbuild, mpbuild
from edgegate.wascap.modules import custom_section
from edgelink.mpack import packb
from edgemodule.fit import Needs
from edgemodule.wasminspect import inspect_bytes

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
HEAP = "32M"
PADDED = "rust_greeter_1800k"
# actor -> (operation, payload) of its first call
CALLS = {
    "echo": ("Echo", b"hello"),
    "greeter": ("HealthRequest", b""),
    "counter": ("Count", b""),
    "wasmbus_echo": ("Echo.Echo", b"hello"),
    "rust_greeter": ("Greeter.Greet", packb({"name": "edge"})),
    PADDED: ("Greeter.Greet", packb({"name": "edge"})),
    "rust_code_small": ("Code.Run", packb({"fn": 1, "x": 7})),
    "rust_code_mid": ("Code.Run", packb({"fn": 1, "x": 7})),
    "rust_code_large": ("Code.Run", packb({"fn": 1, "x": 7})),
    "rust_bulky": ("Blob.Sum", packb({"at": 0, "len": 64})),
}


def modules(folder: Path, names: list[str]) -> dict[str, Path]:
    built = actorbuild.build_all()
    found = {}
    for name in names:
        if name == PADDED:
            grown = built["rust_greeter"].read_bytes() + custom_section("padding",
                                                                       bytes(1800 * 1024))
            found[name] = folder / (name + ".wasm")
            found[name].write_bytes(grown)
        else:
            found[name] = built[name]
    return found


def measure_env() -> dict[str, str]:
    """The environment the board's MicroPython runs the measurements in."""
    return {"MICROPYPATH": ":".join(str(p) for p in (ROOT / "firmware", ROOT / "shared"))}


def measure(binary: Path, module: Path, how: str, call: tuple[str, bytes],
            functions: int = 0) -> dict[str, int]:
    done = subprocess.run([str(binary), "-X", "heapsize=" + HEAP, str(HERE / "mp_actor_heap.py"),
                           str(module), how, call[0], call[1].hex(), str(functions)],
                          env=measure_env(),
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit("%s (%s): %s" % (module.name, how, (done.stdout + done.stderr).strip()))
    return {k: int(v) for k, v in (part.split("=") for part in done.stdout.split())}


def slope(points: list[tuple[int, int]]) -> float:
    """Least-squares slope of y over x."""
    n = len(points)
    mx, my = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actors", default=",".join(CALLS),
                        help="comma-separated actors to measure (default: all)")
    parser.add_argument("--64bit", dest="bits64", action="store_true",
                        help="measure on the 64-bit build instead (to compare)")
    parser.add_argument("--compile-all", action="store_true",
                        help="also the heap once every function of a rust_code_* actor ran")
    args = parser.parse_args(argv)
    names = [n for n in args.actors.split(",") if n]
    unknown = [n for n in names if n not in CALLS]
    if unknown:
        parser.error("unknown actor %s (known: %s)" % (unknown[0], ", ".join(CALLS)))
    binary = mpbuild.ensure_built(bits32=not args.bits64)
    print("board MicroPython 1.28.0, %s unix port, wasm3 0.9.0; heap held through WapcHost, "
          "bytes" % ("64-bit" if args.bits64 else "32-bit"))
    print("%-19s %9s %5s %9s | %9s %9s | %9s %9s | %9s"
          % ("actor", "module", "pages", "code", "mapped", "1st call", "in RAM", "1st call",
             "engine"))
    points, compiled = [], []
    with tempfile.TemporaryDirectory() as scratch:
        for name, path in modules(Path(scratch), names).items():
            data = path.read_bytes()
            needs = Needs(inspect_bytes(data), len(data))
            mapped = measure(binary, path, "mapped", CALLS[name])
            read = measure(binary, path, "ram", CALLS[name])
            engine = mapped["call"] - needs.memory_bytes
            points.append((needs.code_bytes, engine))
            print("%-19s %9d %5d %9d | %9d %9d | %9d %9d | %9d"
                  % (name, len(data), needs.pages, needs.code_bytes, mapped["instance"],
                     mapped["call"], read["instance"], read["call"], engine))
            if args.compile_all and name.startswith("rust_code_"):
                full = measure(binary, path, "mapped", CALLS[name], needs.functions)["all"]
                compiled.append((needs.code_bytes, full - mapped["call"]))
                print("%-19s every function run: %d bytes, %.2f bytes of compiled code per "
                      "byte of code" % ("", full, compiled[-1][1] / needs.code_bytes))
    least = min(engine for _, engine in points)
    print("engine: at least %d bytes; the most over the code section's size: %d"
          % (least, max(engine - code for code, engine in points)))
    print("engine_bytes_per_code_byte=%.3f" % slope(points))
    return 0


if __name__ == "__main__":
    sys.exit(main())
