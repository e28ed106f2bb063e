"""Lattice → board actor round trips through `edgehost gateway`, next to a bare NATS echo.

Part 1: one simulated board (`edgehost sim` over TCP) with the echo actor, served by an
`edgehost gateway` process on a private nats-server; signed wasmbus invocations of Echo from
this process at 1 and 16 in flight. The baseline, in the same run on the same server, is a
plain nats-py request/reply echo served by a process of its own. The line
`lattice_rtt_ratio=` is p50 of a board call / p50 of the bare echo, both at 1 in flight.

Part 2: one gateway serving --boards simulated boards (several simulated boards per process,
threads of `edgecli.simulator.Simulator`), calls spread over all of them at 16 in flight:
calls/s, p99, and the gateway's CPU seconds per call (from /proc); then its CPU share while
its boards are served and idle (IDLE_SECONDS), and the CPU per call net of that share. Last line:
`boards_per_gateway=N calls_per_s=…`.

With `--profile FILE`, py-spy samples the gateway during part two's timed calls (raw stacks to
FILE) and the run prints each part's share of the samples (PARTS says which frames make a part).

    .venv/bin/python tools/bench/lattice_call.py [--calls 1000] [--boards 100] [--payload 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nats
from soaks.latticesoak import start_gateway
from soaks.latticesoak import wait_served as wait_served_one

from edgecli import actorbuild
from edgegate.devices.boardclient import BoardClient, BoardError
from edgegate.devices.boardkey import BoardKey
from edgegate.devices.simprocess import SimProcess
from edgegate.natsserver import EmbeddedNatsServer
from edgegate.rpc import antiforgery
from edgegate.rpc.invocation import Entity, Invocation, InvocationResponse
from edgegate.wascap import ActorMetadata, KeyPair, SignedModule, sign_module

BOARDS_PER_SIM_PROCESS = 25
PROFILE_RATE = 500  # py-spy samples a second
IDLE_SECONDS = 5.0  # after part two's calls, how long the gateway's idle CPU is measured
# a sample belongs to the first part one of whose markers (in a frame's "function (file") is
# anywhere in its stack: the acknowledgement a tick sends is the tick's, not the link's sending
PARTS = (
    ("Ed25519 verification (libsodium through PyNaCl)", ("nacl/",)),
    ("the link's ticks (the acknowledgement sent alone, timers)", ("_tick_loop (",
                                                                  "DeviceLink._tick (")),
    ("the invocation CloudEvent", ("events/cloudevents.py",)),
    ("the envelope: Invocation.unpack, InvocationResponse.pack", ("rpc/invocation.py",)),
    ("the token's JSON and base64, the other anti-forgery checks", ("rpc/antiforgery.py",
                                                                   "wascap/")),
    ("the link, receiving: COBS, CRC32, HMAC, msgpack", ("feed (edgelink/link.py",
                                                         "feed (shared/edgelink/link.py")),
    ("the link, sending: msgpack, HMAC, CRC32, COBS", ("edgelink/",)),
    ("socket writes to the boards", ("_write_loop (", "devices/transports.py")),
    ("the NATS client: read loop, flusher, callbacks", ("nats/",)),
    ("the rest of the pipeline (serving, the board host)", ("edgegate/",)),
    ("the asyncio loop itself and the rest", ("",)),
)
CALLER = Entity.actor("M" + "B" * 55)

BARE_ECHO = """
import asyncio, sys, nats
async def main():
    nc = await nats.connect(sys.argv[1])
    async def echo(msg):
        await msg.respond(msg.data)
    await nc.subscribe("bench.echo", cb=echo)
    print("ready", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""

MANY_BOARDS = """
import json, sys, time
from pathlib import Path
from edgecli.simulator import Simulator, sim_config
boards = json.loads(sys.argv[1])
sims = []
for b in boards:
    config = sim_config(b["board_id"], bytes.fromhex(b["pairing_key"]), {"kind": "usb"})
    sim = Simulator(config, Path(b["flash"]), ("127.0.0.1", 0), console=lambda line: None)
    sim.start_thread()
    sims.append(sim)
print(json.dumps([s.line.port for s in sims]), flush=True)
time.sleep(10**6)
"""


def signed_echo() -> tuple[bytes, str]:
    module = actorbuild.build_all()["echo"].read_bytes()
    subject = KeyPair.generate("module")
    return sign_module(module, KeyPair.generate("account"), subject,
                       ActorMetadata("echo")), subject.public_key


def summary(times: list[float], total: float) -> dict[str, float]:
    times = sorted(times)
    return {"p50_ms": statistics.median(times) * 1000,
            "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))] * 1000,
            "calls_per_s": len(times) / total}


async def timed(call, calls: int, in_flight: int) -> dict[str, float]:
    times: list[float] = []
    left = calls

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            start = time.perf_counter()
            await call(len(times))
            times.append(time.perf_counter() - start)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return summary(times, time.perf_counter() - began)


def invocation_caller(nc, cluster: KeyPair, actors: list[str], payload: bytes):
    async def call(n: int) -> None:
        actor = actors[n % len(actors)]
        inv = Invocation(CALLER, Entity.actor(actor), "Echo", payload,
                         host_id=cluster.public_key)
        antiforgery.sign(inv, cluster)
        reply = await nc.request(f"wasmbus.rpc.default.{actor}", inv.pack(), timeout=30)
        answer = InvocationResponse.unpack(reply.data)
        if answer.error is not None or answer.msg != payload:
            raise SystemExit(f"bad answer: {answer.error or answer.msg[:40]!r}")
    return call


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_served(nc, actors: list[str]) -> None:
    """Until every actor is subscribed on the lattice (soaks.latticesoak's check, each)."""
    for actor in actors:
        await wait_served_one(nc, actor, 120.0)


async def install(address: tuple[str, int], key: BoardKey, module: bytes, actor: str) -> None:
    """Install directly; a busy simulator host may cross a second session with ours: again."""
    for attempt in range(3):
        client = await BoardClient.connect_tcp(*address, key, timeout=30)
        try:
            await client.install(module, SignedModule(module).token.text, actor)
            return
        except BoardError:
            if attempt == 2:
                raise
        finally:
            await client.close()


async def part_one(work: Path, url: str, env: dict[str, str], calls: int,
                   payload: bytes, results: dict) -> None:
    module, actor = signed_echo()
    key = BoardKey("bench", secrets.token_bytes(32))
    key_file = work / "bench.key"
    key_file.write_text(json.dumps({"board_id": "bench", "pairing_key": key.pairing_key.hex()}))
    sim = SimProcess(["--tcp", "127.0.0.1:0", "--key-file", str(key_file), "--flash-dir",
                      str(work / "flash")], work / "sim.err")
    bare = subprocess.Popen([sys.executable, "-c", BARE_ECHO, url], stdout=subprocess.PIPE,
                            text=True)
    gateway = None
    try:
        host, port = sim.where.removeprefix("tcp://").rsplit(":", 1)
        await install((host, int(port)), key, module, actor)
        registry = work / "one.json"
        registry.write_text(json.dumps({"boards": [{"board_id": "bench", "key_file": str(
            key_file), "tcp": f"{host}:{port}"}]}))
        gateway = start_gateway(registry, url, env, work / "gateway1.err")
        bare.stdout.readline()
        nc = await nats.connect(url)
        await wait_served(nc, [actor])
        cluster = KeyPair.from_seed(env["WASMCLOUD_CLUSTER_SEED"])
        board_call = invocation_caller(nc, cluster, [actor], payload)

        async def bare_call(n: int) -> None:
            await nc.request("bench.echo", payload, timeout=10)

        for name, call in (("bare", bare_call), ("board", board_call)):
            await timed(call, min(100, calls), 1)  # warm up
            for in_flight in (1, 16):
                results[f"{name}@{in_flight}"] = await timed(call, calls, in_flight)
        await nc.close()
    finally:
        for proc in (gateway, bare):
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(10)
        sim.stop()


def parts(raw: Path) -> dict[str, int]:
    """Samples by part (PARTS) in py-spy's raw output: `frame;frame;… count` a line."""
    counts = dict.fromkeys((name for name, _ in PARTS), 0)
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        for name, markers in PARTS:
            if any(marker in stack for marker in markers):
                counts[name] += int(count)
                break
    return counts


async def part_two(work: Path, url: str, env: dict[str, str], boards: int, calls: int,
                   payload: bytes, results: dict, profile: Path | None = None) -> None:
    module, actor = signed_echo()
    entries, procs = [], []
    specs = [{"board_id": f"b{n:03d}", "pairing_key": secrets.token_hex(32),
              "flash": str(work / f"flash-b{n:03d}")} for n in range(boards)]
    gateway = None
    try:
        for at in range(0, boards, BOARDS_PER_SIM_PROCESS):
            group = specs[at:at + BOARDS_PER_SIM_PROCESS]
            proc = subprocess.Popen([sys.executable, "-c", MANY_BOARDS, json.dumps(group)],
                                    stdout=subprocess.PIPE, text=True,
                                    stderr=subprocess.DEVNULL)
            procs.append(proc)
            ports = json.loads(proc.stdout.readline())
            for spec, board_port in zip(group, ports, strict=True):
                entries.append({"board_id": spec["board_id"], "pairing_key": spec["pairing_key"],
                                "tcp": f"127.0.0.1:{board_port}"})
        # one actor per board, installed directly before the gateway takes the links
        actors = []
        for entry in entries:
            data, key = signed_echo_for(module)
            host, board_port = entry["tcp"].rsplit(":", 1)
            await install((host, int(board_port)), BoardKey(entry["board_id"], bytes.fromhex(
                entry["pairing_key"])), data, key)
            actors.append(key)
        registry = work / "many.json"
        registry.write_text(json.dumps({"boards": entries}))
        gateway = start_gateway(registry, url, env, work / "gateway2.err")
        nc = await nats.connect(url)
        await wait_served(nc, actors)
        cluster = KeyPair.from_seed(env["WASMCLOUD_CLUSTER_SEED"])
        call = invocation_caller(nc, cluster, actors, payload)
        await timed(call, boards, 16)  # warm up: every board once
        spy = None if profile is None else subprocess.Popen(
            [str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(gateway.pid),
             "-r", str(PROFILE_RATE), "-f", "raw", "-o", str(profile)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cpu_before, began = cpu_seconds(gateway.pid), time.perf_counter()
        results["many"] = many = await timed(call, calls, 16)
        cpu, took = cpu_seconds(gateway.pid) - cpu_before, time.perf_counter() - began
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes its file when interrupted
            spy.wait(60)
        many["gateway_cpu_ms_per_call"] = cpu / calls * 1000
        # what the gateway spends without calls (its boards' ticks, heartbeats) weighs on
        # the figure above in proportion to the run's length: the net figure leaves it out
        idle_before, idle_began = cpu_seconds(gateway.pid), time.perf_counter()
        await asyncio.sleep(IDLE_SECONDS)
        idle = (cpu_seconds(gateway.pid) - idle_before) / (time.perf_counter() - idle_began)
        many["gateway_idle_cpu_share"] = idle
        many["gateway_net_cpu_ms_per_call"] = max(0.0, cpu - idle * took) / calls * 1000
        await nc.close()
    finally:
        if gateway is not None:
            gateway.send_signal(signal.SIGTERM)
            gateway.wait(20)
        for proc in procs:
            proc.kill()
            proc.wait(10)


def signed_echo_for(module_with_claims: bytes) -> tuple[bytes, str]:
    """The echo module signed anew as another actor (each board gets its own)."""
    subject = KeyPair.generate("module")
    return sign_module(module_with_claims, KeyPair.generate("account"), subject,
                       ActorMetadata("echo")), subject.public_key


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--boards", type=int, default=100)
    parser.add_argument("--payload", type=int, default=64)
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="sample the gateway with py-spy during part two's calls")
    args = parser.parse_args()
    payload = bytes(range(256)) * (args.payload // 256) + bytes(args.payload % 256)
    env = {"WASMCLOUD_CLUSTER_SEED": KeyPair.generate("cluster").seed}
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="edgehost-bench-") as tmp:
        work = Path(tmp)
        env["EDGEHOST_KEYS_DIR"] = str(work / "keys")
        with EmbeddedNatsServer(work / "nats") as server:
            asyncio.run(part_one(work, server.url, env, args.calls, payload, results))
            if args.boards:
                asyncio.run(part_two(work, server.url, env, args.boards, args.calls, payload,
                                     results, args.profile))
    for name, figures in results.items():
        print(f"{name:10} " + "  ".join(f"{k}={v:.3f}" for k, v in figures.items()))
    if args.profile is not None and args.boards:
        counts = parts(args.profile)
        total = sum(counts.values()) or 1
        per_call = results["many"]["gateway_cpu_ms_per_call"] * 1000
        for name, count in counts.items():
            print(f"{count / total:6.1%} {count / total * per_call:5.0f} us  {name}")
    ratio = results["board@1"]["p50_ms"] / results["bare@1"]["p50_ms"]
    print(f"lattice_rtt_ratio={ratio:.2f}")
    if "many" in results:
        print(f"boards_per_gateway={args.boards} calls_per_s={results['many']['calls_per_s']:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
