"""The soak in short: thousands of invocations through a damaging proxy, each answered right,
once, and run once (the counting actor proves it)."""

from __future__ import annotations

import pytest
from soaks.linksoak import soak

from edgecli.linkfaults import Rates

pytestmark = pytest.mark.soak


def assert_clean(result) -> None:
    summary = result.summary()
    assert (summary["right"], summary["wrong"], summary["answered_twice"],
            summary["timed_out"], summary["errors"], summary["executed"]) == \
        (result.calls, 0, 0, 0, 0, result.calls), summary


async def test_one_percent_of_frames_damaged_each_way_loses_nothing_and_doubles_nothing(
        tmp_path):
    result = await soak(tmp_path, 3000, Rates.damaged(0.01), seed=14, in_flight=16)
    assert_clean(result)
    proxy = result.proxy
    damaged = sum(proxy[way][fault] for way in ("to_board", "to_gateway")
                  for fault in ("flip", "drop", "duplicate"))
    assert damaged > 30  # the line really was damaged, both ways
    assert min(proxy["to_board"]["drop"], proxy["to_gateway"]["drop"]) > 0


async def test_every_kind_of_damage_at_once_still_answers_each_call_once(tmp_path):
    rates = Rates(flip=0.01, drop=0.01, duplicate=0.01, delay=0.01, truncate=0.01,
                  reorder=0.01, delay_ms=30)
    result = await soak(tmp_path, 1000, rates, seed=5, in_flight=16)
    assert_clean(result)
    assert all(result.proxy["to_board"][fault] > 0 for fault, rate in rates.rates.items() if rate)
