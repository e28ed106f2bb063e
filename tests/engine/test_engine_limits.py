"""What only the board's engine enforces: the per-call deadline (a runaway actor is stopped and
the board keeps serving) and the native-stack floor."""

from __future__ import annotations

import pytest

from edgehost import engine

pytestmark = pytest.mark.micropython


def test_a_runaway_actor_is_stopped_by_the_deadline_and_serves_again(board_scenario):
    assert board_scenario("deadline") == [
        "b'\\x01'",
        "Spin: TrapError actor runaway: trapped in Spin: deadline exceeded",
        "rebuilt True, then Count b'\\x01'",
        "SpinCalls: TrapError actor runaway: trapped in SpinCalls: deadline exceeded",
        "rebuilt True, then Count b'\\x01'",
        # 300 ms in the host against a deadline of 100 ms: host time does not count
        "slow host: b'slow host'",
        "['Relay.Forward']",
    ]


def test_pywasm3_says_it_enforces_neither_limit():
    # so a runaway call never returns in the simulator: the deadline is the board's alone
    assert engine.enforces_limits() is False
