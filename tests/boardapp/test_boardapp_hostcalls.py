"""Host calls: served on the board when they can be, else by the gateway while the caller waits."""

from __future__ import annotations

import asyncio

import pytest
from support.gateway import tcp_gateway

from edgecli.profiles import DEFAULT_PROFILE, profile
from edgehost.actors import ActorTable
from edgehost.builtins import LOGGING, NUMBERGEN, Builtins
from edgehost.dispatch import Dispatcher, HostCallError
from edgelink import mpack


async def test_a_host_call_the_board_cannot_serve_goes_to_the_gateway(board_thread, sign):
    board = board_thread()
    relay = sign("hostcall", caps=["example:relay"])
    async with tcp_gateway(board.url) as gw:
        await gw.request(relay.install(), relay.module)
        pending = asyncio.create_task(gw.invoke(relay.key, "Relay", b"ping"))
        call = await gw.receive("host_call")
        assert (call["actor"], call["binding"], call["namespace"], call["op"], call["body"]) \
            == (relay.key, "default", "example:relay", "Relay.Forward", b"ping")
        gw.device.send({"t": "host_result", "id": call["id"]}, b"pong from the lattice")
        assert (await pending)["body"] == b"pong from the lattice"


async def test_the_gateways_error_becomes_the_guests_host_error(board_thread, sign):
    board = board_thread()
    relay = sign("hostcall", caps=["example:relay"])
    async with tcp_gateway(board.url) as gw:
        await gw.request(relay.install(), relay.module)
        pending = asyncio.create_task(gw.invoke(relay.key, "Relay", b"x"))
        call = await gw.receive("host_call")
        gw.device.send({"t": "error", "id": call["id"], "code": "no_lattice",
                        "message": "no lattice connected: edgehost board talks to the board "
                                   "alone"})
        reply = await pending
        assert reply["code"] == "guest_error"
        assert reply["message"] == ("host call failed: no lattice connected: edgehost board "
                                    "talks to the board alone")


async def test_a_host_call_never_answered_ends_in_a_timeout_error(board_thread, sign):
    board = board_thread(host_call_timeout_ms=300)
    relay = sign("hostcall", caps=["example:relay"])
    async with tcp_gateway(board.url) as gw:
        await gw.request(relay.install(), relay.module)
        reply = await gw.invoke(relay.key, "Relay", b"x")
        assert reply["code"] == "guest_error"
        assert reply["message"] == ("host call failed: timed out after 300 ms waiting for the "
                                    "gateway to answer example:relay Relay.Forward")
        await gw.receive("host_call")  # it was asked, and nobody answered
        echo = sign("echo")
        assert (await gw.request(echo.install(), echo.module))["t"] == "installed"


async def test_requests_arriving_during_a_host_call_are_served_after_it(board_thread, sign):
    board = board_thread()
    relay = sign("hostcall", caps=["example:relay"])
    echo = sign("echo")
    async with tcp_gateway(board.url) as gw:
        await gw.request(relay.install(), relay.module)
        await gw.request(echo.install(), echo.module)
        done: list[str] = []

        async def invoke(actor: str, op: str, label: str) -> dict:
            reply = await gw.invoke(actor, op, label.encode())
            done.append(label)
            return reply

        relayed = asyncio.create_task(invoke(relay.key, "Relay", "relay"))
        call = await gw.receive("host_call")
        echoed = asyncio.create_task(invoke(echo.key, "Echo", "echo"))
        ping = await gw.request({"t": "ping"})  # the link answers pings even now
        assert ping["t"] == "pong" and done == []
        gw.device.send({"t": "host_result", "id": call["id"]}, b"answer")
        assert (await relayed)["body"] == b"answer"
        assert (await echoed)["body"] == b"echo"
        assert done == ["relay", "echo"]


async def test_a_call_to_an_actor_on_the_board_is_served_there_by_call_alias(board_thread,
                                                                            sign):
    board = board_thread()
    relay = sign("hostcall")  # calling an actor needs no capability
    # the relay actor calls the namespace example:relay: here, an actor's call alias
    target = sign("echo", call_alias="example:relay")
    async with tcp_gateway(board.url) as gw:
        await gw.request(relay.install(), relay.module)
        await gw.request(target.install(), target.module)
        reply = await gw.invoke(relay.key, "Relay", b"x")
        assert reply["message"] == (f"host call failed: actor {target.key}: Relay.Forward "
                                    "failed: unknown operation: Relay.Forward")
        assert board.board.sessions == 1


async def test_a_host_call_to_a_contract_the_actor_does_not_hold_never_leaves_the_board(
        board_thread, sign):
    board = board_thread()
    relay = sign("hostcall")
    async with tcp_gateway(board.url) as gw:
        await gw.request(relay.install(), relay.module)
        reply = await gw.invoke(relay.key, "Relay", b"x")
        assert reply["message"] == (f"host call failed: actor {relay.key} is not allowed to "
                                    "call example:relay: its claims lack that capability")
        assert "host_call" not in await gw.received()


async def test_an_invocation_from_a_provider_needs_its_capability(board_thread, sign):
    board = board_thread()
    plain = sign("echo")
    served = sign("echo", caps=["wasmcloud:httpserver"])
    async with tcp_gateway(board.url) as gw:
        await gw.request(plain.install(claims=False), plain.module)
        await gw.request(served.install(claims=False), served.module)
        refused = await gw.invoke(plain.key, "Echo", b"x",
                                  origin_contract="wasmcloud:httpserver")
        assert refused["code"] == "refused"
        assert refused["message"] == (f"actor {plain.key} does not hold capability "
                                      "wasmcloud:httpserver, so wasmcloud:httpserver may not "
                                      "invoke it")
        allowed = await gw.invoke(served.key, "Echo", b"x", origin="VPROVIDER",
                                  origin_contract="wasmcloud:httpserver")
        assert allowed["body"] == b"x"
        from_actor = await gw.invoke(plain.key, "Echo", b"y", origin=served.key)
        assert from_actor["body"] == b"y"


class _Caller:
    def __init__(self, caps):
        self.caps = caps
        self.alias = ""


class _Table(ActorTable):
    def __init__(self, actors):
        super().__init__(profile(DEFAULT_PROFILE).limits, None, None)
        self.actors = actors


def test_builtins_are_served_on_the_board_and_contracts_checked_against_the_claims():
    lines = []
    gateway_calls = []
    table = _Table({"MLOGGER": _Caller([LOGGING]), "MPLAIN": _Caller([]),
                    "MSTORE": _Caller(["wasmcloud:keyvalue"])})
    dispatcher = Dispatcher(table, Builtins(lambda *line: lines.append(line)),
                            lambda *call: gateway_calls.append(call) or b"")
    payload = mpack.packb({"level": "warn", "text": "low battery"})
    assert dispatcher.host_call("MLOGGER", "default", LOGGING, "Logging.WriteLog",
                                payload) == b""
    assert lines == [("MLOGGER", "warn", "low battery")]
    with pytest.raises(HostCallError) as refused:
        dispatcher.host_call("MPLAIN", "default", NUMBERGEN, "NumberGen.Random32", b"")
    assert str(refused.value) == ("actor MPLAIN is not allowed to call "
                                  "wasmcloud:builtin:numbergen: its claims lack that capability")
    with pytest.raises(HostCallError) as refused:
        dispatcher.host_call("MPLAIN", "default", "wasmcloud:keyvalue", "KeyValue.Get", b"k")
    assert str(refused.value) == ("actor MPLAIN is not allowed to call wasmcloud:keyvalue: "
                                  "its claims lack that capability")
    assert gateway_calls == []
    dispatcher.host_call("MSTORE", "default", "wasmcloud:keyvalue", "KeyValue.Get", b"k")
    dispatcher.host_call("MPLAIN", "default", "shop/cart", "Cart.Add", b"i")  # a call alias
    assert gateway_calls == [("MSTORE", "default", "wasmcloud:keyvalue", "KeyValue.Get", b"k"),
                             ("MPLAIN", "default", "shop/cart", "Cart.Add", b"i")]
