"""What only the board's engine enforces or has: the per-call deadline (a runaway actor is stopped
and the board keeps serving), the native-stack floor, and its waPC exchange in C."""

from __future__ import annotations

import pytest
from boardcode import BoardPython, scenario_lines

from edgehost import engine

pytestmark = pytest.mark.micropython


DEADLINE_LINES = [
    "b'\\x01'",
    "SpinCounted 3: b'\\x03\\x00\\x00\\x00'",
    "Spin: TrapError actor runaway: trapped in Spin: deadline exceeded",
    "rebuilt True, then Count b'\\x01'",
    "SpinCalls: TrapError actor runaway: trapped in SpinCalls: deadline exceeded",
    "rebuilt True, then Count b'\\x01'",
    # a counted loop without calls: 2**32 - 1 passes, each closing with br_if
    "SpinCounted: TrapError actor runaway: trapped in SpinCounted: deadline exceeded",
    "rebuilt True, then Count b'\\x01'",
    # 300 ms in the host against a deadline of 100 ms: host time does not count
    "slow host: b'slow host'",
    "['Relay.Forward']",
]


def test_a_runaway_actor_is_stopped_by_the_deadline_and_serves_again(board_scenario):
    assert board_scenario("deadline") == DEADLINE_LINES


def test_the_32_bit_build_stops_a_runaway_actor_by_the_deadline_too(sim_micropython, actors,
                                                                    tmp_path):
    # the ESP32's word size: the board's own build of the deadline's probes
    assert scenario_lines(BoardPython("micropython", sim_micropython), "deadline",
                          tmp_path) == DEADLINE_LINES


def test_pywasm3_says_it_enforces_neither_limit():
    # so a runaway call never returns in the simulator: the deadline is the board's alone
    assert engine.enforces_limits() is False


def test_the_binding_refuses_misuse_with_one_line_each(board_scenario):
    assert board_scenario("binding_misuse") == [
        "stack: ValueError stack must be at least 64 bytes",
        "stack above the heap: MemoryError no memory for a wasm3 runtime",
        "link before load: RuntimeError load the module before linking",
        "load a str: TypeError load() takes a wasm3 Module",
        "load twice: RuntimeError module is already loaded",
        "link a non-callable: TypeError host function must be callable",
        "link the wrong signature: RuntimeError function signature mismatch",
        "memory limit: ValueError memory limit must be 0 or more pages",
        "memory limit below the memory: RuntimeError linear memory of 2 pages is above the cap"
        " of 1 pages",
        "deadline: ValueError deadline must be 0 (none) or more milliseconds",
        "unknown function: RuntimeError function lookup failed ('nope')",
        "argument count: TypeError __guest_call takes 2 arguments, not 1",
        "keyword arguments: TypeError wasm functions take no keyword arguments",
        "no memory: RuntimeError the module has no linear memory",
    ]


def test_linear_memory_is_off_the_heap_within_the_limit_and_dropping_an_actor_frees_it(
        board_scenario):
    assert board_scenario("linear_memory") == [
        "2 pages off the heap: True",
        "past the limit: ModuleRefused actor echo: module refused: memory allocation failed",
        "growth past the limit: GuestError actor grow: Fill failed: out of memory",
        "after one is dropped: b'room again'",
        "the second still answers: True",
        "negative: ValueError linear memory limit must be 0 (none) or more bytes",
    ]


def test_the_exchange_refuses_misuse_with_one_line_each(board_scenario):
    assert board_scenario("exchange_misuse") == [
        "no runtime: TypeError Exchange() takes a wasm3 Runtime",
        "negative limit: ValueError max_payload and max_log must be 0 or more bytes",
        "link the host call: ValueError the exchange does not serve __host_call",
        "link the wrong signature: TypeError the exchange serves __guest_error as v(ii), not i(i)",
        "begin with an int: TypeError operation must be bytes, bytearray or memoryview, not int",
        "host response of None: TypeError host_response must be bytes, bytearray or memoryview,"
        " not NoneType",
        "set the response: AttributeError Exchange.response is read-only (host_response and"
        " host_error are not)",
    ]


def test_an_echo_call_on_the_board_allocates_nothing_beyond_its_answer(board_scenario):
    # the exchange's copies are done in C: no slices or views of linear memory per call
    assert board_scenario("heap_per_call") == ["an echo call allocates 0 bytes beyond its answer"]


def test_an_echo_call_by_name_on_the_board_allocates_nothing_beyond_its_answer(board_scenario):
    # the link hands the host a str operation each time; its bytes are made once, not per call
    assert board_scenario("heap_per_call_by_name") == [
        "an echo call by name allocates 0 bytes beyond its answer"]


def test_a_stored_module_is_read_in_place_without_a_copy_in_ram(board_scenario):
    assert board_scenario("mapped_module") == [
        "read into RAM: b'one'", "mapped: b'two'", "saved at least 1 MiB: True",
        "missing: OSError 2"]


def test_without_the_board_engine_stored_modules_are_read_into_ram():
    from edgehost import port

    assert port.map_file is None  # pywasm3 has no map_file
