"""Fragmentation headroom: the board's actor table filled to what the fit model allows, many
times over, on the 32-bit build of the board's MicroPython.

    .venv/bin/python tools/bench/fill_heap.py [--profile NAME] [--heap SIZE] [--rounds R]
                                              [--steps N] [--kinds K,...] [--actor-ram KIB]

Each round is a fresh interpreter with a heap of --heap (by default `sim --micropython`'s;
actors' linear memory is off it, held to the profile's RAM for actors) running N random steps
of install, swap and remove over the Rust-shaped actors (17 pages; 0.13, 0.52 and 1.8 MB of
code, and rust_greeter grown to 1 MB), modules mapped, with the profile's limits: every step
the model accepts must load and answer (mp_fill_heap.py). Reports the steps that failed and
the least free heap and largest free block seen. Ends with `fill_failures=<count>`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from actor_heap import measure_env

from edgecli import actorbuild, mpbuild, mpsim, profiles
from edgegate.wascap.modules import custom_section

HERE = Path(__file__).resolve().parent
BLOCK = 16  # bytes in a block of the 32-bit port's heap
POOL = ("rust_code_small", "rust_code_mid", "rust_code_large")


def pool_files(folder: Path) -> list[Path]:
    built = actorbuild.build_all()
    padded = folder / "rust_greeter_1m.wasm"
    padded.write_bytes(built["rust_greeter"].read_bytes()
                       + custom_section("padding", bytes(1024 * 1024)))
    return [built[name] for name in POOL] + [padded]


def fill_round(binary: Path, heap: str, limits: dict, seed: int, steps: int, kinds: str,
               modules: list[Path]) -> tuple[dict[str, int], list[str]]:
    done = subprocess.run([str(binary), "-X", "heapsize=" + heap, str(HERE / "mp_fill_heap.py"),
                           json.dumps(limits), str(seed), str(steps), kinds,
                           *map(str, modules)],
                          env=measure_env(), capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit("round %d: %s" % (seed, (done.stdout + done.stderr).strip()))
    lines = done.stdout.splitlines()
    last = {k: int(v) for k, v in (part.split("=") for part in lines[-1].split())}
    blocks = [int(line.split("max free sz:")[1].split()[0]) for line in lines
              if "max free sz:" in line]
    last["low_block"] = min(blocks) * BLOCK
    return last, [line for line in lines if line.startswith("failed=")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default=profiles.DEFAULT_PROFILE)
    parser.add_argument("--heap", default=mpsim.HEAP)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--kinds", default="install,swap,remove",
                        help="the steps to mix (default install,swap,remove)")
    parser.add_argument("--actor-ram", type=int, metavar="KIB",
                        help="try another actor_ram_bytes than the profile's (KiB)")
    args = parser.parse_args(argv)
    profile = profiles.profile(args.profile)
    if args.actor_ram:
        profile.limits["actor_ram_bytes"] = args.actor_ram * 1024
    binary = mpbuild.ensure_built(bits32=True)
    failures: list[str] = []
    lows, blocks, most, accepted = [], [], 0, 0
    with tempfile.TemporaryDirectory() as scratch:
        modules = pool_files(Path(scratch))
        for seed in range(args.rounds):
            last, failed = fill_round(binary, args.heap, profile.limits, seed, args.steps,
                                      args.kinds, modules)
            failures += ["round %d: %s" % (seed, line) for line in failed]
            lows.append(last["low_free"])
            blocks.append(last["low_block"])
            most = max(most, last["most"])
            accepted += last["accepted"]
    print("profile %s (%d KiB for actors), heap %s, 32-bit: %d rounds x %d steps of %s, "
          "%d accepted, at most %d actors at once"
          % (profile.name, profile.limits["actor_ram_bytes"] // 1024, args.heap, args.rounds,
             args.steps, args.kinds, accepted, most))
    print("least free heap after a step: %d bytes; least largest free block: %d bytes"
          % (min(lows), min(blocks)))
    for line in failures:
        print("  accepted but failed: " + line)
    print("fill_failures=%d" % len(failures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
