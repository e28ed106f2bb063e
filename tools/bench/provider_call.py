"""Calls through capability providers of a board host, next to a plain board actor call.

One simulated board (a thread of this process) served by an in-process gateway on a private
nats-server, with the echo and caller actors on it and the project's kv provider started by
`lp` from a .par. Signed invocations from this process, one in flight:

- baseline: lattice → the board's echo actor (Echo, 16 bytes);
- board provider: lattice → the board's own `edgehost:gpio` provider (Gpio.Read), served by
  the board without an actor;
- native provider: lattice → the board's caller actor, whose host call goes through the
  gateway to the kv provider (KeyValue.Contains) and back — two lattice hops.

Last line: `board_provider_ratio=… native_provider_ratio=…`, each p50 / the baseline's p50.

    .venv/bin/python tools/bench/provider_call.py [--calls 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import msgpack
import nats

from edgecli import actorbuild
from edgecli.parcmds import archive_bytes
from edgecli.simulator import Simulator, sim_config
from edgegate.config import LatticeConfig
from edgegate.devices.registry import BoardEntry
from edgegate.gateway import Gateway
from edgegate.jetstream.entries import LinkDefinition
from edgegate.natsserver import EmbeddedNatsServer
from edgegate.providers.archive import platform_target
from edgegate.providers.board import derived_key
from edgegate.rpc import antiforgery
from edgegate.rpc.invocation import Entity, Invocation, InvocationResponse
from edgegate.vhost.install import install_on_board
from edgegate.wascap import ActorMetadata, KeyPair, sign_module
from edgegate.wascap.archives import provider_token

KV = "wasmcloud:keyvalue"
GPIO = "edgehost:gpio"
CALLER = Entity.actor("M" + "B" * 55)
KV_SOURCE = Path(__file__).resolve().parents[1] / "providers" / "kv_provider.py"


def signed(module: bytes, name: str, caps: list[str]) -> tuple[bytes, str]:
    subject = KeyPair.generate("module")
    return sign_module(module, KeyPair.generate("account"), subject,
                       ActorMetadata(name, caps)), subject.public_key


def kv_archive(folder: Path) -> tuple[str, str]:
    binary = f"#!{sys.executable}\n{KV_SOURCE.read_text().split(chr(10), 1)[1]}".encode()
    subject = KeyPair.generate("provider")
    token = provider_token(KeyPair.generate("account"), subject, "kv", KV, "bench",
                           {platform_target(): binary})
    path = folder / "kv.par"
    path.write_bytes(archive_bytes(token, {platform_target(): binary}, False))
    return f"file://{path}", subject.public_key


async def p50_ms(call, calls: int) -> float:
    for _ in range(20):  # warm up
        await call()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        await call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


async def run(calls: int, folder: Path) -> None:
    nats_server = EmbeddedNatsServer(folder / "nats").start()
    key = bytes(range(32))
    sim = Simulator(sim_config("bench", key, {"kind": "usb"}), folder / "flash",
                    ("127.0.0.1", 0), console=lambda line: None)
    sim.start_thread()
    config = LatticeConfig.from_env({"WASMCLOUD_ALLOW_FILE_LOAD": "true"},
                                    nats_url=nats_server.url)
    gateway = Gateway(config, [BoardEntry("bench", key, "tcp",
                                          f"127.0.0.1:{sim.line.port}")])
    await gateway.start()
    nc = await nats.connect(nats_server.url)
    try:
        while "bench" not in gateway.hosts or not gateway.hosts["bench"].ready:
            await asyncio.sleep(0.05)
        host = gateway.hosts["bench"]
        built = actorbuild.build_all()
        echo, echo_key = signed(built["echo"].read_bytes(), "echo", [])
        caller, caller_key = signed(built["caller"].read_bytes(), "caller", [KV, GPIO])
        await install_on_board(host, echo)
        await install_on_board(host, caller)
        ref, kv_key = kv_archive(folder)
        await host.providers.start_provider(gateway.control.fetcher, ref, "default")
        gpio_key = derived_key("provider", config.cluster, "bench", GPIO).public_key
        metadata = gateway.lattice.metadata
        await metadata.put_link(LinkDefinition(actor_id=caller_key, provider_id=kv_key,
                                               contract_id=KV))
        await metadata.put_link(LinkDefinition(actor_id=caller_key, provider_id=gpio_key,
                                               contract_id=GPIO))
        while metadata.find_link(caller_key, GPIO, "default") is None or \
                caller_key not in metadata.claims:
            await asyncio.sleep(0.05)

        async def invoke(origin: Entity, target: Entity, operation: str, msg: bytes,
                         subject: str) -> bytes:
            inv = Invocation(origin, target, operation, msg, host_id=config.cluster.public_key)
            antiforgery.sign(inv, config.cluster)
            answer = InvocationResponse.unpack((await nc.request(subject, inv.pack(),
                                                                 timeout=10)).data)
            if answer.error is not None:
                raise SystemExit(f"{operation}: {answer.error}")
            return answer.msg

        payload = b"x" * 16
        results = {
            "baseline": await p50_ms(lambda: invoke(
                CALLER, Entity.actor(echo_key), "Echo", payload,
                f"wasmbus.rpc.default.{echo_key}"), calls),
            "board_provider": await p50_ms(lambda: invoke(
                Entity.actor(caller_key), Entity(gpio_key, "default", GPIO), "Gpio.Read",
                msgpack.packb({"pin": 4}), f"wasmbus.rpc.default.{gpio_key}.default"), calls),
            "native_provider": await p50_ms(lambda: invoke(
                CALLER, Entity.actor(caller_key), "Call",
                f"default|{KV}|KeyValue.Contains|".encode() + msgpack.packb("k"),
                f"wasmbus.rpc.default.{caller_key}"), calls),
        }
        print(json.dumps({name: round(ms, 3) for name, ms in results.items()}))
        print(f"board_provider_ratio={results['board_provider'] / results['baseline']:.2f} "
              f"native_provider_ratio={results['native_provider'] / results['baseline']:.2f}")
    finally:
        await nc.close()
        await gateway.stop()
        sim.stop()
        nats_server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="edgehost-bench-") as folder:
        asyncio.run(run(args.calls, Path(folder)))


if __name__ == "__main__":
    main()
