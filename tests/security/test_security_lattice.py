"""Hostile lattice traffic at a board host: forged invocations of every kind spec §3 covers,
hostile envelopes, oversized payloads, an actor without capabilities calling a builtin and a
provider, a provider invoking an actor without its capability. Each is refused with its
reason in the answer and in an invocation_failed event; honest calls between them still get
the right answer; a counting actor proves nothing refused ran; the gateway's and the
simulator's memory stay bounded."""

from __future__ import annotations

import asyncio

import msgpack
import nats
import pytest
from latticekit.antiforgery import FORGERIES, forge
from latticekit.invocations import actor_entity, pack
from latticekit.nkeypairs import NKey
from support.latticecalls import lattice_events
from support.latticerig import signed_actor, wait_for, write_registry
from support.memory import resident_kb
from support.responses import read_response

from edgegate.rpc import antiforgery
from edgegate.rpc.invocation import Entity, Invocation, InvocationResponse
from edgegate.wascap import KeyPair

pytestmark = pytest.mark.nats

ROUNDS = 30
ALLOWED_GROWTH_KB = 8 * 1024
SETTLE_S = 30.0  # the most the gateway may take to let go of refused bodies
ORIGIN = "M" + "T" * 55
# host calls of an actor that holds no capability: a builtin of the board, and a provider's
UNHELD = [("wasmcloud:builtin:numbergen", "NumberGen.Random32"),
          ("wasmcloud:keyvalue", "KeyValue.Get")]


class Lattice:
    """A plain NATS client at the board host: honest and hostile invocations."""

    def __init__(self, nc: nats.NATS, cluster: KeyPair, faults: str, caller: str):
        self.nc, self.cluster, self.faults, self.caller = nc, cluster, faults, caller
        self.signer = NKey.from_seed(cluster.seed)
        self.counted = 0

    async def send(self, actor: str, data: bytes) -> InvocationResponse:
        reply = await self.nc.request(f"wasmbus.rpc.default.{actor}", data, timeout=20)
        return read_response(reply.data)

    def signed(self, actor: str, operation: str, msg: bytes, origin: Entity | None = None
               ) -> bytes:
        inv = Invocation(origin or Entity.actor(ORIGIN), Entity.actor(actor), operation, msg,
                         host_id=self.cluster.public_key)
        antiforgery.sign(inv, self.cluster)
        return inv.pack()

    async def count(self) -> None:
        """An honest call to the counting actor: the count goes up by exactly one."""
        self.counted += 1
        answer = await self.send(self.faults, self.signed(self.faults, "Count", b""))
        assert answer.error is None and answer.msg == bytes([self.counted & 0xFF]), answer

    def hostile(self) -> dict[str, bytes]:
        """{what: packed invocation} for every kind of refusal this host must make."""
        out = {kind: pack(forge(kind, self.signer, actor_entity(ORIGIN),
                                actor_entity(self.faults), "Count", b"forged?",
                                self.cluster.public_key))
               for kind in FORGERIES}
        out["garbage"] = b"\xc1not msgpack"
        out["deep_nesting"] = b"\x81\xa6origin" + b"\x81\xa1a" * 600 + b"\xc0"
        out["not_a_map"] = msgpack.packb([1, 2, 3])
        out["oversized_payload"] = self.signed(self.faults, "Count", b"x" * (600 * 1024))
        out["provider_without_capability"] = self.signed(
            self.faults, "Count", b"", Entity("V" + "P" * 55, "default", "wasmcloud:keyvalue"))
        return out

    async def without_capability(self, contract: str, operation: str) -> InvocationResponse:
        """The actor without capabilities makes a host call to `contract`."""
        call = f"default|{contract}|{operation}|".encode()
        return await self.send(self.caller, self.signed(self.caller, "Call", call))


async def wait_served(lattice: Lattice) -> None:
    for _ in range(100):
        try:
            await lattice.count()
            return
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
            lattice.counted -= 1
            await asyncio.sleep(0.1)
    raise AssertionError("the counting actor was never served on the lattice")


async def test_hostile_invocations_are_refused_counted_and_disturb_nothing(
        nats_server, sim_boards, run_gateway, actors, tmp_path, cluster_env):
    board = sim_boards("kitchen")
    faults, faults_key = signed_actor(actors["faults"], "faults")
    caller, caller_key = signed_actor(actors["caller"], "caller")  # holds no capability
    await board.install(faults, caller)
    gw = run_gateway(write_registry(tmp_path / "boards.json", board.registry_entry()))
    gw.wait_for_line("board kitchen is host N")
    nc = await nats.connect(nats_server.url)
    events = await lattice_events(nc)
    lattice = Lattice(nc, KeyPair.from_seed(cluster_env["WASMCLOUD_CLUSTER_SEED"]),
                      faults_key, caller_key)
    try:
        await wait_served(lattice)
        hostile = lattice.hostile()
        refusals: dict[str, str] = {}

        async def campaign() -> None:
            for what, data in hostile.items():
                answer = await lattice.send(lattice.faults, data)
                assert answer.error, f"{what} was not refused: {answer}"
                assert answer.msg == b""
                refusals[what] = answer.error
                await lattice.count()
            for contract, operation in UNHELD:
                refused = await lattice.without_capability(contract, operation)
                assert f"not allowed to call {contract}: its claims lack that capability" in \
                    (refused.error or ""), refused
                refusals[contract] = refused.error
                await lattice.count()

        await campaign()  # the first round warms every path before memory is measured
        before = resident_kb(gw.process.pid), resident_kb(board.sim.process.pid)
        for _ in range(ROUNDS):
            await campaign()
        # A refused oversized body stops going out when the board's refusal arrives; the
        # gateway's memory may take a moment to come back within bounds.
        await wait_for(lambda: resident_kb(gw.process.pid) - before[0] < ALLOWED_GROWTH_KB,
                       timeout=SETTLE_S, what="the gateway letting go of refused bodies")
        after = resident_kb(gw.process.pid), resident_kb(board.sim.process.pid)
        failed_events = [e for e in events if e["type"].endswith("invocation_failed")]
    finally:
        await nc.close()
    # each refusal names its reason
    for kind in FORGERIES:
        assert refusals[kind].startswith("Anti-forgery check failed: "), refusals[kind]
    assert refusals["deep_nesting"].endswith("maps nested deeper than 8 levels")
    assert refusals["garbage"].startswith("invalid invocation: invocation: not msgpack")
    assert "bytes exceeds max_body" in refusals["oversized_payload"]
    assert "does not hold capability wasmcloud:keyvalue" in \
        refusals["provider_without_capability"]
    # and each is counted on the lattice: an invocation_failed event per refusal that names
    # its invocation (the unreadable envelopes name none)
    readable = len(hostile) - 3 + len(UNHELD)  # less garbage, deep nesting and not a map
    assert len(failed_events) >= readable * (ROUNDS + 1), len(failed_events)
    print(f"{len(hostile) + len(UNHELD)} kinds x {ROUNDS} rounds refused; resident memory: gateway "
          f"{before[0]} -> {after[0]} KB, simulator {before[1]} -> {after[1]} KB")
    assert after[0] - before[0] < ALLOWED_GROWTH_KB, f"gateway grew {after[0] - before[0]} KB"
    assert after[1] - before[1] < ALLOWED_GROWTH_KB, f"simulator grew {after[1] - before[1]} KB"
    log = gw.err_path.read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
