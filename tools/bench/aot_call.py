"""The ahead-of-time tier against wasm3, in the same board MicroPython process.

    .venv/bin/python tools/bench/aot_call.py [--arch x64|x86] [--rounds R]
                                             [--crunch-rounds N] [--echo-calls N]

Translates the CPU-bound actor (tools/actors/crunch.c, a CoreMark-like kernel) and the echo
actor with edgecli.aot for the architecture (x64: the default 64-bit board build; x86: the
32-bit one `sim --micropython` runs), then runs both through WapcHost on wasm3 and on the tier
(tools/bench/mp_aot_call.py), best of R alternating rounds. Prints the sizes (wasm, native
module; rv32imc's and xtensawin's too where their compilers are), the times, and last
`aot_speedup=<crunch on wasm3 / crunch on the tier>`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from edgecli import actorbuild, aot, mpbuild

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BUILDS = {"x64": mpbuild.ensure_built, "x86": mpbuild.board_build}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="x64", choices=sorted(BUILDS))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--crunch-rounds", type=int, default=2000)
    parser.add_argument("--echo-calls", type=int, default=2000)
    args = parser.parse_args(argv)
    binary = BUILDS[args.arch]()
    actorbuild.build_all()
    translated = {}
    for name in ("crunch", "echo"):
        wasm = actorbuild.OUTPUT / (name + ".wasm")
        translated[name] = aot.translate(wasm.read_bytes(), args.arch)
        print("%s_wasm_bytes=%d %s_%s_mpy_bytes=%d" % (
            name, wasm.stat().st_size, name, args.arch, translated[name].stat().st_size))
    # the boards' architectures cannot run here: their sizes only, where their compilers are
    for arch in ("rv32imc", "xtensawin"):
        for name in ("crunch", "echo"):
            wasm = actorbuild.OUTPUT / (name + ".wasm")
            try:
                size = aot.translate(wasm.read_bytes(), arch).stat().st_size
            except aot.TranslationError as exc:
                print("%s: not built (%s)" % (arch, exc))
                break
            print("%s_%s_mpy_bytes=%d" % (name, arch, size))
    env = dict(os.environ, MICROPYPATH="%s:%s" % (ROOT / "firmware", ROOT / "shared"))
    done = subprocess.run(
        [str(binary), "-X", "heapsize=16M", str(HERE / "mp_aot_call.py"),
         str(actorbuild.OUTPUT), str(translated["crunch"]), str(translated["echo"]),
         str(args.rounds), str(args.crunch_rounds), str(args.echo_calls)],
        env=env, capture_output=True, text=True, timeout=600)
    sys.stdout.write(done.stdout)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
