"""The call soak in short: `edgehost board call` commands, each its own connection, through a
proxy damaging bytes both ways from the first byte; none may print another call's answer."""

from __future__ import annotations

import pytest
from soaks.callsoak import CallSoakResult, bound_seconds, call_soak

pytestmark = pytest.mark.soak


async def test_calls_each_on_its_own_damaged_connection_get_their_own_answer_or_a_clear_error(
        tmp_path):
    result = await call_soak(tmp_path, runs=1, calls=20, fraction=0.001, seed=1)
    summary = result.summary()
    assert (summary["wrong"], summary["unclear"], summary["hung"]) == (0, 0, 0), summary
    assert summary["right"] + summary["errors"] == 20
    assert summary["right"] >= 10, summary  # a damaged line, not a dead one
    for way in ("to_board", "to_gateway"):
        assert sum(summary["faults"][way].values()) > 0, summary  # damaged both ways


def test_the_soak_tells_a_wrong_answer_an_unclear_end_and_a_slow_error_from_a_clear_one():
    result = CallSoakResult(timeout=10.0)
    result.count("call 16", 0, "call 16", "", 1.0)
    result.count("call 16", 0, "call 15", "", 1.0)
    result.count("call 16", 1, "", "edgehost: board at tcp://127.0.0.1:4000: no answer to "
                 "invoke within 10 s\n", 12.0)
    result.count("call 16", 1, "", "Traceback (most recent call last):\n  ...\nKeyError: 'id'\n",
                 1.0)
    result.count("call 16", 1, "", "edgehost: board at tcp://127.0.0.1:4000: no answer\n",
                 bound_seconds(10.0) + 1)
    result.count("call 16", None, "", "", 100.0)
    summary = result.summary()
    assert (summary["right"], summary["wrong"], summary["errors"], summary["unclear"],
            summary["hung"]) == (1, 1, 1, 2, 1)
    assert summary["error_kinds"] == {
        "edgehost: board at ADDRESS: no answer to invoke within N s": 1}
    assert summary["wrong_seen"] == ["call 16 -> call 15"]
    assert not result.clean
