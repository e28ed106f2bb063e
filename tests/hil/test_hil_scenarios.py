"""Hardware in the loop: what a board must do on its line, run against the board under test
(the simulated board by default; a real one with --board-port P --board-profile NAME)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import subprocess

from support.commands import EDGEHOST

from edgehost.builtins import LOGGING, NUMBERGEN

GREETING = r"(Hello|Hi|Greetings|Howdy|Good day), %s!"


async def install(gw, *actors) -> None:
    for actor in actors:
        reply = await gw.request(actor.install(), actor.module)
        assert reply["t"] in ("installed", "swapped"), reply


async def test_the_board_boots_and_greets_with_its_id_profile_and_engine(board, session):
    hello = session.hello
    assert (hello["board"], hello["profile"], hello["chip"]) == (
        board.key.board_id, board.profile.name, board.profile.chip)
    assert hello["engine"] == "wasm3" and hello["os"] == board.runtime


def test_an_installed_actor_answers_its_calls(board, edgehost_board, sign):
    echo = sign("echo")
    assert edgehost_board.install(echo.module) == echo.key
    assert edgehost_board.call(echo.key, "Echo", b"in the loop") == b"in the loop"


async def test_an_actor_calls_the_builtins_the_board_serves_itself(session, sign):
    greeter = sign("greeter", caps=[LOGGING, NUMBERGEN])
    await install(session, greeter)
    answer = await session.invoke(greeter.key, "Greet", b"Ada")
    assert re.fullmatch(GREETING % "Ada", answer["body"].decode()), answer
    # wasmcloud:builtin:logging: the line goes on to the gateway, after the board's own
    lines: list[str] = []
    while not any("Ada" in line for line in lines):
        assert len(lines) < 10, lines
        lines.append((await session.receive("log"))["text"])


async def test_an_actor_calls_the_lattice_through_the_gateway(session, sign):
    relay = sign("hostcall", caps=["example:relay"])
    await install(session, relay)
    pending = asyncio.create_task(session.invoke(relay.key, "Relay", b"ping"))
    call = await session.receive("host_call")
    assert (call["namespace"], call["op"], call["body"]) == ("example:relay", "Relay.Forward",
                                                             b"ping")
    session.device.send({"t": "host_result", "id": call["id"]}, b"pong from the lattice")
    assert (await pending)["body"] == b"pong from the lattice"


def test_after_a_reset_the_actors_are_back_and_nothing_is_uploaded_again(board, edgehost_board,
                                                                         sign):
    echo = sign("echo")
    edgehost_board.install(echo.module)
    edgehost_board.reset()
    # restored from flash: the board's hello has it, and it answers with no install
    assert edgehost_board.actors()[echo.key]["sha256"] == echo.sha256.hex()
    assert edgehost_board.call(echo.key, "Echo", b"after the reset") == b"after the reset"


async def test_noise_on_the_line_is_dropped_and_the_session_goes_on(session, sign):
    echo = sign("echo")
    await install(session, echo)
    noise = random.Random(16)
    for burst in range(5):
        # frames are delimited by zero bytes: noise with delimiters in it, between frames
        junk = bytes(noise.randrange(256) for _ in range(300)) + b"\0"
        await session.device.transport.write(junk)
        answer = await session.invoke(echo.key, "Echo", b"burst %d" % burst)
        assert answer["body"] == b"burst %d" % burst


async def test_a_runaway_actor_is_stopped_by_the_deadline_and_the_board_serves_on(
        board, session, sign):
    echo, runaway = sign("echo"), sign("runaway")
    await install(session, echo, runaway)
    stopped = await session.device.request(
        {"t": "invoke", "actor": runaway.key, "op": "Spin", "origin": ""}, b"",
        timeout=board.deadline_ms / 1000 + 10)
    assert (stopped["code"], stopped["message"]) == (
        "trap", "actor %s: trapped in Spin: deadline exceeded" % runaway.key)
    # a counted loop without calls, closing with br_if, meets the same deadline
    stopped = await session.device.request(
        {"t": "invoke", "actor": runaway.key, "op": "SpinCounted", "origin": ""},
        (2**32 - 1).to_bytes(4, "little"), timeout=board.deadline_ms / 1000 + 10)
    assert (stopped["code"], stopped["message"]) == (
        "trap", "actor %s: trapped in SpinCounted: deadline exceeded" % runaway.key)
    counted = await session.invoke(runaway.key, "Count")  # a fresh instance serves it
    assert (counted["t"], counted["body"]) == ("invoke_result", b"\x01")
    assert (await session.invoke(echo.key, "Echo", b"still here"))["body"] == b"still here"


async def test_its_actor_answers_on_a_lattice_through_the_gateway(board, sign, tmp_path,
                                                                  gateway, nats_server,
                                                                  lattice_env):
    greeter = sign("greeter", caps=[LOGGING, NUMBERGEN], call_alias="hil-greeter")
    gw = await board.connect()
    try:
        await install(gw, greeter)
    finally:
        await gw.close()
    registry = tmp_path / "boards.json"
    registry.write_text(json.dumps({"boards": [board.registry_entry()]}))
    served = gateway(registry)
    served.wait_for_line("board %s is host N" % board.key.board_id, timeout=30.0)
    done = subprocess.run([EDGEHOST, "call", "--nats", nats_server.url, "hil-greeter", "Greet",
                           "Grace"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **lattice_env}, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(GREETING % "Grace", done.stdout.strip()), done.stdout

