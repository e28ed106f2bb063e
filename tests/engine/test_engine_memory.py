"""A long-running simulated board keeps bounded memory: loads, traps and removals under pywasm3
free what they took (pywasm3 0.5.0 alone kept ~200 KB per load)."""

from __future__ import annotations

import gc

import pytest
from support.memory import resident_kb

from edgehost.wapc import TrapError, WapcHost

ROUNDS = 300
# Before the fix every load kept ~200 KB: 300 rounds of a load and a trap grew by ~120 MB.
ALLOWED_GROWTH_KB = 6 * 1024


def grown_kb(cycle, rounds: int) -> int:
    """How far resident memory grows over `rounds` cycles, after a warm-up of 20."""
    for _ in range(20):
        cycle()
    gc.collect()
    before = resident_kb()
    for _ in range(rounds):
        cycle()
    gc.collect()
    return resident_kb() - before


def test_installing_trapping_and_removing_hundreds_of_times_keeps_memory_bounded(actors):
    def cycle():
        host = WapcHost("faults", actors["faults"])
        with pytest.raises(TrapError) as trapped:
            host.call("Unreachable", b"")
        assert trapped.value.rebuilt
        assert host.call("Count", b"")  # the rebuilt instance serves
        host.close()

    assert grown_kb(cycle, ROUNDS) < ALLOWED_GROWTH_KB


def test_hundreds_of_traps_in_one_long_lived_actor_keep_memory_bounded(actors):
    host = WapcHost("faults", actors["faults"])

    def cycle():
        with pytest.raises(TrapError):
            host.call("Unreachable", b"")

    assert grown_kb(cycle, ROUNDS) < ALLOWED_GROWTH_KB
    assert host.call("Count", b"")
    host.close()


def test_a_module_that_traps_while_starting_is_refused_each_time_and_memory_stays_bounded(
        actors):
    def refuse(binding, namespace, operation, payload):
        raise ValueError("not today")  # init_check traps in wapc_init when its host says no

    def cycle():
        with pytest.raises(TrapError) as refused:
            WapcHost("init_check", actors["init_check"], host_call=refuse)
        assert "wapc_init" in str(refused.value)

    assert grown_kb(cycle, ROUNDS) < ALLOWED_GROWTH_KB
