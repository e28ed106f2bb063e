"""The soak from the lattice: signed invocations through the gateway and a damaging proxy, each
answered right, once, and run once; and the caller that counts them tells an error reply, a
second reply and silence apart."""

from __future__ import annotations

import nats
import pytest
from soaks.latticesoak import LatticeCaller, lattice_soak
from soaks.linksoak import ClearError, Silence

from edgecli.linkfaults import Rates
from edgegate.rpc.invocation import Invocation, InvocationResponse
from edgegate.wascap import KeyPair

pytestmark = pytest.mark.soak

ACTOR = "M" + "C" * 55


async def test_invocations_from_the_lattice_through_one_percent_damage_lose_and_double_nothing(
        tmp_path):
    result = await lattice_soak(tmp_path, 2000, Rates.damaged(0.01), seed=14, in_flight=16)
    summary = result.summary()
    assert (summary["right"], summary["wrong"], summary["answered_twice"],
            summary["timed_out"], summary["late"], summary["errors"], summary["executed"]) == \
        (2000, 0, 0, 0, 0, 0, 2000), summary
    proxy = result.proxy
    assert min(proxy[way][fault] for way in ("to_board", "to_gateway")
               for fault in ("flip", "drop", "duplicate")) > 0  # really damaged, both ways


async def responder(nc, *answers: InvocationResponse | None) -> None:
    """Answer each invocation of ACTOR with `answers` in turn (None: the invocation's own id)."""
    async def serve(msg) -> None:
        inv = Invocation.unpack(msg.data)
        for answer in answers:
            answer = answer or InvocationResponse(inv.id, msg=b"1:" + inv.msg)
            answer.invocation_id = answer.invocation_id or inv.id
            await nc.publish(msg.reply, answer.pack())
    await nc.subscribe(f"wasmbus.rpc.default.{ACTOR}", cb=serve)
    await nc.flush()


async def caller_of(nc, wait: float = 10.0) -> LatticeCaller:
    return await LatticeCaller(nc, KeyPair.generate("cluster"), ACTOR, wait).start()


async def test_the_caller_counts_a_second_reply_to_one_call(nats_server):
    nc = await nats.connect(nats_server.url)
    try:
        await responder(nc, None, None)
        caller = await caller_of(nc)
        assert await caller.invoke("Count", b"7") == b"1:7"
        await nc.flush()
        await caller.invoke("Count", b"8")  # the second reply to 7 came before this answer
        assert caller.extra >= 1
    finally:
        await nc.close()


async def test_an_error_reply_is_a_clear_error_and_no_reply_is_silence(nats_server):
    nc = await nats.connect(nats_server.url)
    try:
        caller = await caller_of(nc, wait=0.5)
        with pytest.raises(ClearError, match=f"no responders on the lattice for {ACTOR}"):
            await caller.invoke("Count", b"0")  # nobody serves the actor: nats-server says so
        mute = await nc.subscribe(f"wasmbus.rpc.default.{ACTOR}")  # takes it, answers nothing
        await nc.flush()
        with pytest.raises(Silence, match="no reply within 0.5 s"):
            await caller.invoke("Count", b"1")
        await mute.unsubscribe()
        await responder(nc, InvocationResponse("", error="board soak did not answer Count"))
        with pytest.raises(ClearError, match="board soak did not answer Count"):
            await caller.invoke("Count", b"2")
    finally:
        await nc.close()


async def test_an_answer_to_another_invocation_is_wrong(nats_server):
    nc = await nats.connect(nats_server.url)
    try:
        await responder(nc, InvocationResponse("not-this-one", msg=b"1:3"))
        caller = await caller_of(nc)
        assert not (await caller.invoke("Count", b"3")).endswith(b":3")
    finally:
        await nc.close()
