"""Every control-interface handler fed arbitrary bodies on a real nats-server: each request
gets a clear answer, none is served by the gateway's fault path, and the gateway keeps
answering afterwards."""

from __future__ import annotations

import asyncio
import json
import threading

import nats
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.latticerig import write_registry

pytestmark = pytest.mark.nats

CTL = "wasmbus.ctl.default"
EXAMPLES = 120
FIELDS = ["actor_ref", "actor_id", "new_actor_ref", "count", "annotations", "constraints",
          "provider_id", "provider_ref", "contract_id", "link_name", "values", "timeout",
          "host_id", "registries"]
# each of these always answers; `stop` is left out (a well-formed body stops the host, as it
# should), the auctions answer only with a bid or a refusal and are fuzzed without a reply
ANSWERED = ["cmd.{host}.la", "cmd.{host}.sa", "cmd.{host}.scale", "cmd.{host}.upd",
            "cmd.{host}.lp", "cmd.{host}.sp", "cmd.{host}.nonsense", "get.{host}.inv",
            "registries.put", "get.claims", "get.links", "linkdefs.put", "linkdefs.del"]
UNANSWERED = ["auction.actor", "auction.provider"]
FAULT = "the gateway failed to serve it"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12)
requests = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6)
bodies = st.one_of(
    st.binary(max_size=256),
    json_values.map(lambda v: json.dumps(v).encode()),
    requests.map(lambda v: json.dumps(v).encode()),
    requests.map(lambda v: json.dumps(v).encode()),
)


class LoopThread:
    """An event loop on its own thread, so that hypothesis (synchronous) can drive NATS."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro, timeout: float = 60.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


async def answer(nc: nats.NATS, subject: str, body: bytes) -> dict:
    reply = await nc.request(f"{CTL}.{subject}", body, timeout=10)
    return json.loads(reply.data)


async def first_host(nc: nats.NATS) -> str:
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    await nc.publish(f"{CTL}.ping.hosts", b"", reply=inbox)
    msg = await sub.next_msg(timeout=10)
    await sub.unsubscribe()
    return json.loads(msg.data)["id"]


def fuzz_answered(loop: LoopThread, nc: nats.NATS, subject: str) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(bodies)
    def served(body: bytes) -> None:
        reply = loop.run(answer(nc, subject, body))
        assert isinstance(reply, dict), f"{subject}: answered {reply!r}"
        assert FAULT not in json.dumps(reply), f"{subject} {body!r}: {reply}"

    served()


def fuzz_published(loop: LoopThread, nc: nats.NATS, subject: str) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None)
    @given(bodies)
    def published(body: bytes) -> None:
        loop.run(nc.publish(f"{CTL}.{subject}", body))

    published()


def test_every_control_handler_answers_arbitrary_bodies_and_the_gateway_keeps_serving(
        nats_server, sim_boards, run_gateway, tmp_path):
    board = sim_boards("kitchen")
    gw = run_gateway(write_registry(tmp_path / "boards.json", board.registry_entry()))
    gw.wait_for_line("board kitchen is host N")
    loop = LoopThread()
    try:
        nc = loop.run(nats.connect(nats_server.url))
        host = loop.run(first_host(nc))
        for pattern in ANSWERED:
            fuzz_answered(loop, nc, pattern.format(host=host))
        for subject in UNANSWERED:
            fuzz_published(loop, nc, subject)
        loop.run(nc.flush())
        # still a host on the lattice, still answering its inventory
        assert loop.run(first_host(nc)) == host
        assert loop.run(answer(nc, f"get.{host}.inv", b""))["host_id"] == host
        loop.run(nc.close())
    finally:
        loop.close()
    log = gw.err_path.read_text(errors="replace")
    assert "Traceback" not in log and "failed to serve" not in log, log[-3000:]
