"""The call soak: `edgehost board call` commands, each its own connection, through a proxy that
damages bytes both ways, handshake included; no call may print another call's answer.

An `edgehost sim` board over TCP with the echo actor, and `--runs` runs of `--calls` commands
`edgehost board --tcp PROXY call echo Echo PAYLOAD`, one after another, each run through
`edgehost linkproxy`'s proxy with its own seed (`--seed`, `--seed` + 1, …) damaging `--damage`
of the bytes each way (flips, drops and duplicates in equal parts; see soaks.callsoak). Each
run prints a progress line on stderr; the totals come as one JSON line, and the last line is
call_soak_clean=1 when no call was answered wrong, ended unclearly or hung.

    .venv/bin/python tools/bench/call_soak.py [--runs 20] [--calls 100] [--damage 0.001]
        [--seed 1] [--timeout 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

from soaks.callsoak import CallSoakResult, call_soak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--calls", type=int, default=100, help="commands per run")
    parser.add_argument("--damage", type=float, default=0.001,
                        help="fraction of the bytes damaged each way")
    parser.add_argument("--seed", type=int, default=1, help="the first run's seed")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="each command's --timeout")
    args = parser.parse_args()

    def progress(run: int, result: CallSoakResult) -> None:
        print(f"run {run + 1}/{args.runs}: {result.right} right, {result.wrong} wrong, "
              f"{sum(result.errors.values())} clear errors, {len(result.unclear)} unclear, "
              f"{result.hung} hung of {result.calls}; {result.seconds_so_far:.0f} s",
              file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="edgehost-calls-") as folder:
        result = asyncio.run(call_soak(Path(folder), args.runs, args.calls, args.damage,
                                       args.seed, args.timeout, progress))
    print(json.dumps(result.summary()), flush=True)
    print(f"call_soak_clean={int(result.clean)}")
    return 0 if result.clean else 1


if __name__ == "__main__":
    sys.exit(main())
