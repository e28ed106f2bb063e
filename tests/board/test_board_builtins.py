"""Builtin providers on the board: logging and numbergen, for actors whose claims allow them."""

from __future__ import annotations

import uuid

import msgpack
import pytest

from edgehost.builtins import LOGGING, NUMBERGEN, BuiltinError, Builtins


@pytest.fixture
def builtins():
    lines = []
    b = Builtins(lambda key, level, text: lines.append((key, level, text)))
    b.lines = lines
    return b


def test_logging_writes_the_actor_line(builtins):
    payload = msgpack.packb({"level": "WARN", "text": "low battery"})
    assert builtins.call("MACTOR", [LOGGING], LOGGING, "Logging.WriteLog", payload) == b""
    assert builtins.lines == [("MACTOR", "warn", "low battery")]


def test_numbergen_answers_in_msgpack(builtins):
    answer = builtins.call("M", [NUMBERGEN], NUMBERGEN, "NumberGen.GenerateGuid", b"")
    guid = msgpack.unpackb(answer)
    assert uuid.UUID(guid).version == 4
    r = msgpack.unpackb(builtins.call("M", [NUMBERGEN], NUMBERGEN, "NumberGen.Random32", b""))
    assert 0 <= r <= 0xFFFFFFFF
    args = msgpack.packb({"min": 10, "max": 12})
    seen = {
        msgpack.unpackb(builtins.call("M", [NUMBERGEN], NUMBERGEN, "NumberGen.RandomInRange", args))
        for _ in range(200)
    }
    assert seen == {10, 11, 12}


@pytest.mark.parametrize(
    "caps, namespace, operation, payload, message",
    [
        ([], LOGGING, "Logging.WriteLog", b"", "lack that capability"),
        ([LOGGING], NUMBERGEN, "NumberGen.Random32", b"", "is not allowed to call"),
        ([LOGGING], LOGGING, "Logging.Shout", b"", "has no operation Logging.Shout"),
        ([LOGGING], LOGGING, "Logging.WriteLog", b"\xc1", "payload is not msgpack"),
        ([LOGGING], LOGGING, "Logging.WriteLog", msgpack.packb([1]), "must be a msgpack map"),
        ([NUMBERGEN], NUMBERGEN, "NumberGen.RandomInRange", msgpack.packb({"min": 5, "max": 1}),
         "need 0 <= min <= max"),
    ],
)
def test_refusals_say_why(builtins, caps, namespace, operation, payload, message):
    with pytest.raises(BuiltinError, match=message):
        builtins.call("MACTOR", caps, namespace, operation, payload)
    assert builtins.lines == []


@pytest.mark.micropython
def test_builtins_run_on_the_board_interpreters(board_python):
    out = board_python(
        "from edgehost.builtins import Builtins, LOGGING, NUMBERGEN\n"
        "from edgelink import mpack\n"
        "b = Builtins(lambda k, l, t: print(k, l, t))\n"
        "b.call('M1', [LOGGING], LOGGING, 'Logging.WriteLog', "
        "mpack.packb({'level': 'info', 'text': 'hi'}))\n"
        "g = mpack.unpackb(b.call('M1', [NUMBERGEN], NUMBERGEN, 'NumberGen.GenerateGuid', b''))\n"
        "print(len(g), g[14])\n"
    )
    assert out.splitlines() == ["M1 info hi", "36 4"]
