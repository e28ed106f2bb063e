"""The long fuzz run: every pure decoder target for N inputs, with atheris where it installs.

    .venv/bin/pip install -e '.[fuzz]'            # atheris (optional)
    nice -n 5 .venv/bin/python tools/fuzz/run.py --runs 1000000 [TARGET ...]

With atheris, each target runs in its own libFuzzer process, coverage-guided, started from
the seeds of fuzzseeds.py, with a per-input time limit (a hang is a finding) and a memory
limit (unbounded growth is a finding); it prints libFuzzer's own count of inputs run. Without
atheris (or with --plain), a seeded mutator feeds the same targets: a fifth random bytes, the
rest mutations of the seeds. Either way a finding stops that target and is saved under
build/fuzz/TARGET/; the exit status is non-zero if any target found something.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
OUT = ROOT / "build" / "fuzz"
TIME_LIMIT_S = 10  # one input running longer is a hang
RSS_LIMIT_MB = 1024


def write_seeds(name: str) -> Path:
    import fuzzseeds

    corpus = OUT / name / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(fuzzseeds.seeds()[name]):
        (corpus / f"seed{i}").write_bytes(seed)
    return corpus


def atheris_child(name: str, runs: int) -> None:
    """Runs inside the libFuzzer process: instrument the decoders, then fuzz one target."""
    import atheris
    import fuzztargets

    atheris.instrument_all()  # the editable install's import hooks escape instrument_imports
    corpus = OUT / name / "corpus"
    args = [sys.argv[0], f"-runs={runs}", f"-timeout={TIME_LIMIT_S}",
            f"-rss_limit_mb={RSS_LIMIT_MB}", f"-artifact_prefix={OUT / name}/",
            "-print_final_stats=1", str(corpus)]
    atheris.Setup(args, fuzztargets.TARGETS[name])
    atheris.Fuzz()


def run_atheris(name: str, runs: int) -> tuple[int, bool, float]:
    write_seeds(name)
    started = time.monotonic()
    done = subprocess.run([sys.executable, __file__, "--child", name, "--runs", str(runs)],
                          capture_output=True, text=True)
    log = done.stdout + done.stderr
    (OUT / name / "libfuzzer.log").write_text(log)
    counted = re.findall(r"stat::number_of_executed_units:\s+(\d+)", log)
    count = int(counted[-1]) if counted else 0
    return count, done.returncode == 0, time.monotonic() - started


def run_plain(name: str, runs: int, seed: int) -> tuple[int, bool, float]:
    import fuzzseeds
    import fuzztargets

    target = fuzztargets.TARGETS[name]
    starts = fuzzseeds.seeds()[name]
    rng = random.Random(seed)
    started = time.monotonic()
    for i in range(runs):
        if i % 5 == 0:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(128)))
        else:
            data = fuzzseeds.mutate(rng.choice(starts), rng)
        began = time.monotonic()
        try:
            target(data)
        except Exception:
            found = OUT / name / f"crash-{i}"
            found.parent.mkdir(parents=True, exist_ok=True)
            found.write_bytes(data)
            print(f"{name}: finding saved to {found}:\n{traceback.format_exc()}")
            return i + 1, False, time.monotonic() - started
        if time.monotonic() - began > TIME_LIMIT_S:
            print(f"{name}: input {i} ran longer than {TIME_LIMIT_S} s")
            return i + 1, False, time.monotonic() - started
    return runs, True, time.monotonic() - started


def main() -> int:
    import fuzztargets

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help="default: all of " +
                        ", ".join(fuzztargets.TARGETS))
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--plain", action="store_true", help="the seeded mutator, not atheris")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        atheris_child(args.child, args.runs)
        return 0
    unknown = [t for t in args.targets if t not in fuzztargets.TARGETS]
    if unknown:
        parser.error(f"unknown target {unknown[0]!r}: known are {', '.join(fuzztargets.TARGETS)}")
    try:
        import atheris  # noqa: F401
        engine = "plain" if args.plain else "atheris"
    except ImportError:
        engine = "plain"
    failed = False
    for name in args.targets or list(fuzztargets.TARGETS):
        if engine == "atheris":
            count, ok, took = run_atheris(name, args.runs)
        else:
            count, ok, took = run_plain(name, args.runs, args.seed)
        failed |= not ok
        print(f"{name}: {count} inputs ({engine}) in {took:.0f} s: "
              f"{'no finding' if ok else 'FINDING, see build/fuzz/' + name}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
