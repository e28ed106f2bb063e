"""`edgehost board call` round trips against simulated boards, next to the link's own round trip.

Starts `edgehost sim` twice (TCP; pty throttled to --baud), installs the echo actor through
BoardClient and times sequential Echo calls through it, as `edgehost board call` makes them
(without the process start). Over the pty the gateway's writes are paced like a UART too, as in
the link benchmark. The baseline is the link benchmark's ping/pong round trip over a paced pty
at the same baud (and the raw echo of the same bytes), measured in the same run. The last line
is board_call_ratio: p50 of a board call over the pty / p50 of the link's round trip.

    .venv/bin/python tools/bench/board_call.py [--calls 500] [--payload 64] [--baud 921600]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from link_throughput import link_run, open_paced, ping_wire_bytes, raw_round_trip

from edgecli import actorbuild
from edgegate.devices.boardclient import BoardClient
from edgegate.devices.boardkey import BoardKey
from edgegate.devices.simprocess import SimProcess
from edgegate.wascap import ActorMetadata, KeyPair, SignedModule, sign_module

EDGEHOST = str(Path(sys.executable).parent / "edgehost")
START_TIMEOUT = 15.0


def signed_echo() -> tuple[bytes, str]:
    module = actorbuild.build_all()["echo"].read_bytes()
    subject = KeyPair.generate("module")
    signed = sign_module(module, KeyPair.generate("account"), subject, ActorMetadata("echo"))
    return signed, subject.public_key


class CallRun:
    """Seconds per call, the seconds all calls took, and wire bytes per call each way."""

    def __init__(self, times: list[float], total: float, down: float, up: float):
        self.times = times
        self.total = total
        self.down = down
        self.up = up


async def time_calls(client: BoardClient, actor: str, payload: bytes, calls: int,
                     warmup: int) -> CallRun:
    for _ in range(warmup):
        await client.call(actor, "Echo", payload)
    times = []
    out_before, in_before = client.wire_bytes
    began = time.perf_counter()
    for _ in range(calls):
        start = time.perf_counter()
        answer = await client.call(actor, "Echo", payload)
        times.append(time.perf_counter() - start)
        assert answer == payload, "echo answered something else"
    total = time.perf_counter() - began
    out_after, in_after = client.wire_bytes
    return CallRun(times, total, (out_after - out_before) / calls,
                   (in_after - in_before) / calls)


async def board_calls(client: BoardClient, module: bytes, actor: str, payload: bytes,
                      calls: int, warmup: int) -> CallRun:
    reply = await client.install(module, SignedModule(module).token.text, actor)
    assert reply["t"] == "installed", reply
    return await time_calls(client, actor, payload, calls, warmup)


async def simulated_boards(folder: Path, baud: int,
                           timeout: float = 10.0) -> AsyncIterator[tuple[str, BoardClient]]:
    """("tcp", client) of an `edgehost sim` over TCP, then ("pty", client) of one over a pty
    paced to `baud` both ways; each simulator is stopped once the caller moves on."""
    key_file = folder / "board.key"
    key_file.write_text(json.dumps({"board_id": "bench", "pairing_key": "42" * 32}))
    key = BoardKey.load(key_file)
    for name, line in (("tcp", ["--tcp", "127.0.0.1:0"]), ("pty", ["--pty", "--baud", str(baud)])):
        (folder / name).mkdir()
        sim = SimProcess([*line, "--key-file", str(key_file),
                          "--flash-dir", str(folder / name / "flash")], folder / name / "sim.err")
        try:
            if name == "tcp":
                host, port = sim.where.removeprefix("tcp://").rsplit(":", 1)
                client = await BoardClient.connect_tcp(host, int(port), key, timeout=timeout)
            else:
                transport = await open_paced(sim.where, baud)
                client = await BoardClient.start(transport, key, sim.where, timeout=timeout)
            try:
                yield name, client
            finally:
                await client.close()
        finally:
            sim.stop()


def percentiles(times: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    return {"p50": cuts[49], "p90": cuts[89], "p99": cuts[98]}


def report(label: str, run: CallRun) -> dict[str, float]:
    p = percentiles(run.times)
    print(f"{label:<30} p50 {p['p50'] * 1000:6.2f} ms  p90 {p['p90'] * 1000:6.2f} ms  "
          f"p99 {p['p99'] * 1000:6.2f} ms  {len(run.times) / run.total:5.0f} calls/s  "
          f"wire bytes per call {run.down:.0f} down + {run.up:.0f} up")
    return p


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--payload", type=int, default=64, help="Echo payload bytes")
    parser.add_argument("--baud", type=int, default=921600)
    parser.add_argument("--link-rounds", type=int, default=200)
    args = parser.parse_args()

    module, actor = signed_echo()
    payload = bytes(i % 251 + 1 for i in range(args.payload))
    print(f"echo actor, {args.payload}-byte payload, {args.calls} sequential calls after "
          f"{args.warmup} to warm up; pty at {args.baud} baud both ways")
    with tempfile.TemporaryDirectory(prefix="board-call-bench-") as tmp:
        results = {}
        async for name, client in simulated_boards(Path(tmp), args.baud):
            run = await board_calls(client, module, actor, payload, args.calls, args.warmup)
            results[name] = report(f"board call over {name}", run)
            call_bytes = round(run.down + run.up)

    link = await link_run(args.baud, 1024, args.link_rounds, 1024, 8)
    raw = await raw_round_trip(args.baud, ping_wire_bytes() // 2, args.link_rounds)
    print(f"{'link ping round trip over pty':<30} p50 {link['ping'] * 1000:6.2f} ms  "
          f"(link benchmark, {args.baud} baud, {ping_wire_bytes()} wire bytes; a raw echo of "
          f"them {raw * 1000:.2f} ms)")
    raw_call = await raw_round_trip(args.baud, call_bytes // 2, args.link_rounds)
    print(f"{'raw echo of the same bytes':<30} p50 {raw_call * 1000:6.2f} ms  ({call_bytes} "
          f"wire bytes through the same paced pty, no protocol)")
    line_time = call_bytes * 10 / args.baud
    print(f"{'line time of those bytes':<30}        {line_time * 1000:6.2f} ms  (computed: the "
          f"request must arrive whole before the answer starts, so no echo overlaps them)")
    print(f"board call over pty = {results['pty']['p50'] / link['ping']:.2f} x the link's round "
          f"trip = {results['pty']['p50'] / raw_call:.2f} x a raw echo of its own bytes")
    print(f"board_call_ratio={results['pty']['p50'] / link['ping']:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
