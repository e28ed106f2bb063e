"""Staying up on the link: a connection lost mid-call, a gateway with the wrong pairing key."""

from __future__ import annotations

import asyncio
import os
import socket

from support.gateway import WAIT, connect_tcp, tcp_gateway

from edgegate.devices.devicelink import DeviceLink
from edgegate.devices.transports import TcpTransport
from edgelink import frame, session

WRONG_KEY = bytes(32)


async def test_a_link_dropped_during_a_host_call_is_reopened_and_serves_again(board_thread,
                                                                            sign):
    board = board_thread()
    relay = sign("hostcall", caps=["example:relay"])
    echo = sign("echo")
    gw = await connect_tcp(board.url)
    await gw.request(relay.install(), relay.module)
    await gw.request(echo.install(), echo.module)
    pending = asyncio.create_task(gw.invoke(relay.key, "Relay", b"lost"))
    await gw.receive("host_call")
    await gw.close()  # the gateway goes away while the actor waits for its answer
    pending.cancel()

    async with tcp_gateway(board.url) as gw:
        assert set(gw.hello["actors"]) == {relay.key, echo.key}
        assert (await gw.invoke(echo.key, "Echo", b"back"))["body"] == b"back"
        call = asyncio.create_task(gw.invoke(relay.key, "Relay", b"again"))
        asked = await gw.receive("host_call")
        gw.device.send({"t": "host_result", "id": asked["id"]}, b"answered")
        assert (await call)["body"] == b"answered"
        assert board.board.sessions == 2
        assert any(line.startswith("[info] the gateway closed the connection")
                   for line in board.console)


async def test_a_gateway_with_another_pairing_key_is_refused_and_named_on_the_console(
        board_thread):
    board = board_thread()
    host, port = board.url.removeprefix("tcp://").rsplit(":", 1)
    transport = await TcpTransport.connect(host, int(port))
    impostor = DeviceLink(transport, {b"bench-3": WRONG_KEY})
    runner = asyncio.create_task(impostor.run())
    impostor.ask_to_open()
    try:
        for _ in range(int(WAIT / 0.05)):
            if any("gateway proof failed" in line for line in board.console):
                break
            await asyncio.sleep(0.05)
        line = next(line for line in board.console if "gateway proof failed" in line)
        assert line.startswith("[error] gateway proof failed: pairing key mismatch? "
                               "(board bench-3); retrying in ")
        assert board.board.sessions == 0 and not impostor.opened.is_set()
    finally:
        await transport.close()
        runner.cancel()
    async with tcp_gateway(board.url) as gw:  # the right gateway still gets in afterwards
        assert gw.hello["board"] == "bench-3"


async def test_an_actor_that_cannot_start_without_the_gateway_is_dropped_at_boot(board_thread,
                                                                                sign):
    first = board_thread(flash="shared-flash")
    fragile = sign("init_check", caps=["example:init"])
    echo = sign("echo")
    gw = await connect_tcp(first.url)
    installing = asyncio.create_task(gw.request(fragile.install(), fragile.module))
    gw.device.send({"t": "host_result", "id": (await gw.receive("host_call"))["id"]}, b"")
    await installing
    await gw.request(echo.install(), echo.module)
    await gw.close()
    first.stop()

    again = board_thread(flash="shared-flash")  # boots on the same flash, no gateway yet
    async with tcp_gateway(again.url) as gw:
        assert gw.hello["actors"] == {echo.key: echo.sha256}  # the gateway re-uploads the other
        event = await gw.receive("event")
        assert event["kind"] == "actor_dropped" and event["data"]["actor"] == fragile.key
        # its start function's host call found no gateway, and it trapped on the refusal
        assert event["data"]["reason"] == (f"actor {fragile.key}: trapped in wapc_init: "
                                           "unreachable executed")


async def test_junk_challenges_are_not_taken_for_a_wrong_key_and_hold_nobody_back(board_thread):
    board = board_thread()
    host, port = board.url.removeprefix("tcp://").rsplit(":", 1)
    writer = frame.FrameWriter(256)
    with socket.create_connection((host, int(port))) as stranger:
        stranger.settimeout(WAIT)
        assert stranger.recv(256)  # the board's OPEN
        for _ in range(12):
            stranger.sendall(bytes(writer.encode(bytes([session.CHALLENGE]), os.urandom(48))))
    async with tcp_gateway(board.url) as gw:
        assert gw.hello["board"] == "bench-3"
        assert not any("pairing key mismatch" in line for line in board.console)


def count(key: str, request_id: int | None = None, payload: bytes = b"x") -> dict:
    msg = {"t": "invoke", "actor": key, "op": "Count", "origin": ""}
    if request_id is not None:
        msg["id"] = request_id
    return msg


async def test_a_request_sent_again_is_answered_from_memory_and_runs_once(board_thread, sign):
    board = board_thread()
    counter = sign("counter")
    async with tcp_gateway(board.url) as gw:
        installed = await gw.request(counter.install(), counter.module)
        again = await gw.request(dict(counter.install(), id=installed["id"]), counter.module)
        assert again == installed
        first = await gw.request(count(counter.key, 1000), b"a")
        repeat = await gw.request(count(counter.key, 1000), b"a")
        assert first["body"] == repeat["body"] == b"1:a"
        assert (await gw.invoke(counter.key, "Total"))["body"] == b"1"
        assert board.board.requests.outcomes.repeats == 2


async def counter_board(board_thread, sign):
    """A board with the counting actor installed, and the gateway that installed it."""
    board = board_thread()
    counter = sign("counter")
    gw = await connect_tcp(board.url)
    await gw.request(counter.install(), counter.module)
    return board, counter, gw


async def test_requests_crossing_a_new_session_are_answered_once_each(board_thread, sign):
    board, counter, gw = await counter_board(board_thread, sign)
    try:
        calls = [asyncio.create_task(gw.request(count(counter.key), bytes([65 + i])))
                 for i in range(4)]
        await asyncio.sleep(0)
        gw.device.ask_to_open()  # the board opens a new session while they are on their way
        answers = [bytes(reply["body"]) for reply in await asyncio.gather(*calls)]
        assert sorted(a.split(b":")[0] for a in answers) == [b"1", b"2", b"3", b"4"]
        assert (await gw.invoke(counter.key, "Total"))["body"] == b"4"
        assert board.board.sessions == 2
    finally:
        await gw.close()


async def test_the_next_gateway_s_requests_are_not_taken_for_the_last_one_s(board_thread, sign):
    board, counter, gw = await counter_board(board_thread, sign)
    assert (await gw.request(count(counter.key, 1000), b"a"))["body"] == b"1:a"
    await gw.close()
    async with tcp_gateway(board.url) as gw:  # its ids start again; the same id is another request
        assert (await gw.request(count(counter.key, 1000), b"a"))["body"] == b"2:a"


def echo_call(key: str, request_id: int) -> dict:
    return {"t": "invoke", "actor": key, "op": "Echo", "origin": "", "id": request_id}


async def echo_board(board_thread, sign):
    """A board with the echo actor installed by a gateway that has hung up since."""
    board = board_thread()
    echo = sign("echo")
    gw = await connect_tcp(board.url)
    await gw.request(echo.install(), echo.module)
    await gw.close()
    return board, echo


async def test_a_request_ahead_of_its_gateway_s_ready_is_not_answered_from_the_last_gateway_s(
        board_thread, sign):
    board, echo = await echo_board(board_thread, sign)
    gw = await connect_tcp(board.url)
    first = await gw.request(echo_call(echo.key, 1000), b"call 15")
    await gw.close()
    # the next connection numbers its requests from the same start; its ready comes after
    # its first request (late, lost on the line, or overtaken by a request sent again)
    async with tcp_gateway(board.url, ready=False) as gw:
        second = await gw.request(echo_call(echo.key, 1000), b"call 16")
        gw.ready()
        third = await gw.request(echo_call(echo.key, 1002), b"call 17")
        assert [first["body"], second["body"], third["body"]] == [b"call 15", b"call 16",
                                                                  b"call 17"]
        assert board.board.requests.outcomes.repeats == 0


async def test_a_request_of_a_gateway_whose_ready_never_came_runs_and_is_remembered(
        board_thread, sign):
    board, counter, gw = await counter_board(board_thread, sign)
    assert (await gw.request(count(counter.key, 1000), b"a"))["body"] == b"1:a"
    await gw.close()
    async with tcp_gateway(board.url, ready=False) as gw:
        assert (await gw.request(count(counter.key, 1000), b"b"))["body"] == b"2:b"
        again = await gw.request(count(counter.key, 1000), b"b")  # sent again: not run twice
        assert again["body"] == b"2:b"
        assert (await gw.invoke(counter.key, "Total"))["body"] == b"2"


async def test_a_request_that_names_no_link_runs_each_time_and_is_never_answered_from_memory(
        board_thread, sign):
    board, counter, gw = await counter_board(board_thread, sign)
    try:
        assert (await gw.request(count(counter.key, 1000), b"a"))["body"] == b"1:a"
        answers = []
        for payload in (b"b", b"c"):  # a gateway that does not say its link, with the same id
            gw.device.send(count(counter.key, 1000), payload)
            reply = await gw.receive("invoke_result")
            answers.append((reply["body"], reply.get("link")))
        assert answers == [(b"2:b", None), (b"3:c", None)]
    finally:
        await gw.close()
