"""The link soak: invocations of the counting actor through a damaging proxy, against the same
run on a clean line.

An `edgehost sim` board over TCP, `edgehost linkproxy`'s proxy damaging `--damage` of the frames
each way (bit flips, drops and duplicates in equal parts), and BoardClient making `--calls`
invocations with at most `--in-flight` outstanding (see soaks.linksoak). Each run prints its
counts and latencies as JSON; the last line is soak_clean=1 when the damaged run had every call
answered right, once, and run once.

With --lattice the calls come from the lattice instead (see soaks.latticesoak): a private
nats-server, an `edgehost gateway` process dialling the board through the proxy, and signed
invocations on wasmbus.rpc.default.{actor} from a plain nats-py caller.

    .venv/bin/python tools/bench/link_soak.py [--calls 100000] [--damage 0.01] [--in-flight 16]
        [--lattice]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

from soaks.latticesoak import lattice_soak
from soaks.linksoak import soak

from edgecli.linkfaults import Rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--damage", type=float, default=0.01)
    parser.add_argument("--in-flight", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lattice", action="store_true",
                        help="invoke from the lattice, through the gateway")
    args = parser.parse_args()
    run = lattice_soak if args.lattice else soak
    outcomes = {}
    for name, rates in (("clean", Rates()), ("damaged", Rates.damaged(args.damage))):
        with tempfile.TemporaryDirectory(prefix="edgehost-soak-") as folder:
            def progress(done: int, name: str = name) -> None:
                if done % 10_000 == 0:
                    print(f"{name}: {done} calls answered", file=sys.stderr, flush=True)

            result = asyncio.run(run(Path(folder), args.calls, rates, args.seed,
                                     args.in_flight, progress=progress))
        outcomes[name] = result
        print(json.dumps({"run": name, **result.summary()}), flush=True)
    clean, damaged = outcomes["clean"], outcomes["damaged"]
    print(f"p50 {damaged.percentile(0.5) * 1000:.1f} ms damaged vs "
          f"{clean.percentile(0.5) * 1000:.1f} ms clean; p99 "
          f"{damaged.percentile(0.99) * 1000:.1f} vs {clean.percentile(0.99) * 1000:.1f} ms")
    print(f"soak_clean={int(damaged.clean and clean.clean)}")
    return 0 if damaged.clean and clean.clean else 1


if __name__ == "__main__":
    sys.exit(main())
