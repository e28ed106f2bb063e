"""Provider archives for the tests (the project's kv provider and broken ones), and a rig: a
simulated board with the caller actor, its gateway, a plain NATS client and the event log."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import msgpack
import nats
from support.controlrig import EventLog, ctl_gather, ctl_request
from support.latticerig import serving, signed_actor, start_gateway, wait_for, write_registry
from support.providers import HEALTH_SECONDS, KV_CONTRACT, kv_binary, kv_par, write_par  # noqa: F401
from support.responses import read_response

from edgegate.gateway import Gateway
from edgegate.rpc import antiforgery
from edgegate.rpc.invocation import Entity, Invocation, InvocationResponse
from edgegate.wascap import KeyPair


@dataclass
class Rig:
    nc: nats.NATS
    gateway: Gateway
    host_id: str
    events: EventLog
    cluster: KeyPair
    caller: str

    @property
    def host(self):
        return next(iter(self.gateway.hosts.values()))

    async def lp(self, ref: str, **fields) -> dict:
        return await ctl_request(self.nc, f"cmd.{self.host_id}.lp",
                                 {"provider_ref": ref, "link_name": "default",
                                  "host_id": self.host_id, **fields})

    async def started(self, ref: str, key: str) -> dict:
        await self.lp(ref)
        return await self.events.wait("provider_started", public_key=key)

    async def link(self, provider: str) -> None:
        ack = await ctl_request(self.nc, "linkdefs.put", {
            "actor_id": self.caller, "provider_id": provider, "contract_id": KV_CONTRACT,
            "link_name": "default", "values": {}})
        assert ack["accepted"], ack

    async def call(self, actor: str, operation: str, msg: bytes) -> InvocationResponse:
        inv = Invocation(Entity.actor("M" + "T" * 55), Entity.actor(actor), operation, msg,
                         host_id=self.cluster.public_key)
        antiforgery.sign(inv, self.cluster)
        reply = await self.nc.request(f"wasmbus.rpc.default.{actor}", inv.pack(), timeout=20)
        return read_response(reply.data)

    async def kv(self, operation: str, args: object) -> InvocationResponse:
        """The board's caller actor makes the host call `operation` on its kv link."""
        payload = f"default|{KV_CONTRACT}|KeyValue.{operation}|".encode() + msgpack.packb(args)
        return await self.call(self.caller, "Call", payload)

    async def hosts(self) -> list[dict]:
        return await ctl_gather(self.nc, "ping.hosts", wait=0.5)


async def make_rig(nats_server, sim_boards, tmp_path, cluster_env, actors, **settings):
    board = sim_boards("kitchen")
    caller, caller_key = signed_actor(actors["caller"], "caller", caps=[KV_CONTRACT])
    await board.install(caller)
    registry = write_registry(tmp_path / "boards.json", board.registry_entry())
    env = {**cluster_env, "WASMCLOUD_ALLOW_FILE_LOAD": "true"}
    gateway = await start_gateway(registry, nats_server.url, env,
                                  provider_health_s=HEALTH_SECONDS, **settings)
    nc = await nats.connect(nats_server.url)
    events = await EventLog().start(nc)
    await wait_for(serving(gateway, "kitchen", 1), what="the board served")
    hosts = await ctl_gather(nc, "ping.hosts", wait=1.0)
    assert len(hosts) == 1
    return Rig(nc, gateway, hosts[0]["id"], events,
               KeyPair.from_seed(cluster_env["WASMCLOUD_CLUSTER_SEED"]), caller_key)


def provider_pids(key: str) -> list[int]:
    """Processes whose command line names the provider's binary (its file is named for it)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if key.encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids
