"""The waPC host's scenarios on both engines: pywasm3 (the simulator's) and the board's wasm3
module under MicroPython and CircuitPython. Where they differ, the test says how (README: engine
notes)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.micropython


def test_echo_health_and_unknown_operations(scenario):
    assert scenario("echo_and_health") == [
        "b'hello board'",
        "b''",
        "HealthRequest b'\\x81\\xa7healthy\\xc3'",
        "1 Actor.HealthRequest b'\\x81\\xa7healthy\\xc3'",
        "b'over wasmbus'",
        "b'tiny'",
        "unknown: GuestError actor echo: Frobnicate failed: unknown operation: Frobnicate",
        "b'okfine'",
    ]


def test_start_functions_run_once_in_order_and_a_broken_log_sink_is_harmless(scenario):
    order = "__wasmbus_rpc_version,start,wapc_init,_start"
    assert scenario("start_functions") == [order, repr(order.encode()),
                                           "b'__wasmbus_rpc_version'"]


def test_host_calls_their_errors_and_re_entry(scenario):
    assert scenario("host_calls") == [
        "b'gnip'",
        "[('default', 'example:relay', 'Relay.Forward', b'ping')]",
        "refused: GuestError actor hostcall: Relay failed: host call failed: no link for "
        "example:relay",
        "b'\\x81\\xa7healthy\\xc3'",
        "no handler: GuestError actor hostcall: Relay failed: host call failed: this host "
        "serves no host calls",
        "not bytes: GuestError actor hostcall: Relay failed: host call failed: host call "
        "handler returned NoneType, not bytes",
        "too big: GuestError actor hostcall: Relay failed: host call failed: host response of "
        "2048 bytes is above the limit of 1024",
        "wasmbus: b'relayed: hi'",
        "wasmbus: GuestError actor wasmbus_echo: Echo.Relay failed: host call failed: denied",
        "['relaying', 'relaying']",
        "re-entrant: GuestError actor hostcall: Relay failed: host call failed: actor hostcall: "
        "called from inside its own call (not re-entrant)",
    ]


def test_every_kind_of_trap_names_its_cause_and_the_instance_is_rebuilt(scenario, engine):
    # wasm3 0.9.0 no longer adds the memory size and offset to an out-of-bounds trap.
    out_of_bounds = "out of bounds memory access"
    if engine == "pywasm3":
        out_of_bounds += " (memory size: 131072; access offset: 4294967280)"
    rebuilt = "rebuilt True, then Count b'\\x01'"
    assert scenario("traps") == [
        "b'\\x01\\x02'",
        "Fail: GuestError actor faults: Fail failed: failed on purpose",
        "FailSilently: GuestError actor faults: FailSilently failed: the guest returned 0 "
        "without an error message",
        "b'\\x03'",
        "Unreachable: TrapError actor faults: trapped in Unreachable: unreachable executed",
        rebuilt,
        "OutOfBounds: TrapError actor faults: trapped in OutOfBounds: " + out_of_bounds,
        rebuilt,
        "DivideByZero: TrapError actor faults: trapped in DivideByZero: integer divide by zero",
        rebuilt,
        "Recurse: TrapError actor faults: trapped in Recurse: stack overflow",
        rebuilt,
        "WildResponse: TrapError actor faults: trapped in WildResponse: __guest_response: 64 "
        "bytes at 0xffffff00 run past the end of linear memory (131072 bytes)",
        rebuilt,
        "WildLog: TrapError actor faults: trapped in WildLog: __console_log: 4294967280 bytes "
        "at 0x10 run past the end of linear memory (131072 bytes)",
        rebuilt,
    ]


def test_console_lines_empty_copies_and_a_wild_host_error_pointer_are_served_alike(scenario):
    # the board serves these host functions in C, the simulator in Python: one outcome
    assert scenario("console_lines_and_host_errors") == [
        "b'logged'", "b'logged'", "b'logged'", "b'logged'",
        "['01234567... (16 bytes)', \"b'\\\\xffok'\", 'short', '']",
        "b'logged'",
        "b''",
        "WildHostError: TrapError actor faults: trapped in WildHostError: __host_error: 30 bytes "
        "at 0xfffffff0 run past the end of linear memory (131072 bytes)",
        "rebuilt True, then Count b'\\x01'",
    ]


def test_large_payloads_and_memory_grown_during_a_call(scenario):
    assert scenario("big_payloads_and_growth") == [
        "Fill True",
        "GrowThenRelay True",
        "Echo 65536 True",
        "Echo 65537 True",
        "Echo 204800 True",
        "Relay True",
        "payload: PayloadTooLarge actor faults: payload of 1001 bytes for Count is above the "
        "limit of 1000",
        "b'\\x01'",
        "answer: PayloadTooLarge actor grow: answer of 5000 bytes to Fill is above the limit of "
        "4096",
        "Fill 4096 True",
    ]


def test_refused_modules_name_the_rule_they_broke(scenario, engine):
    # Both engines refuse a function body they cannot compile, in their own words.
    cannot_compile = ("unknown opcode (opcode 'ff' not available)" if engine == "pywasm3"
                      else "compiling function underran the stack")
    assert scenario("refusals") == [
        "bad_import: ModuleRefused actor bad_import: module refused: imports what the host does "
        "not provide: env.random_bytes, wapc.__host_frobnicate",
        "no_guest_call: NoGuestCall actor no_guest_call: module refused: exports no "
        "__guest_call function",
        "big_memory: ModuleRefused actor big_memory: module refused: declares 17 memory pages "
        "(1088 KiB), above the budget of 16 pages (1024 KiB)",
        "b'roomy'",
        "empty: ModuleRefused actor junk: module refused: not a valid module: not a WebAssembly "
        "module: it does not start with \\0asm",
        "rule format",
        "elf: ModuleRefused actor junk: module refused: not a valid module: not a WebAssembly "
        "module: it does not start with \\0asm",
        "rule format",
        "truncated: ModuleRefused actor junk: module refused: not a valid module: section 1 at "
        "offset 8: size 9 runs past the end of the module (11 bytes)",
        "rule format",
        "broken: ModuleRefused actor broken: module refused: " + cannot_compile,
        "rule engine",
    ]


def test_start_traps_failed_actors_hot_swap_and_close(scenario):
    crash = "actor init_check: trapped in Crash: unreachable executed"
    failed = crash + "; rebuilding it failed: actor init_check: trapped in wapc_init: " \
                     "unreachable executed"
    assert scenario("start_traps_and_swap") == [
        "init: TrapError actor init_check: trapped in wapc_init: unreachable executed",
        "crash: TrapError " + crash,
        "rebuilt False; failed: " + failed,
        "after: ActorFailed actor init_check: failed earlier: " + failed,
        "b'back'",
        "b'one'",
        "b'TWO'",
        "bad swap: ModuleRefused actor swap: module refused: imports what the host does not "
        "provide: env.random_bytes, wapc.__host_frobnicate",
        "rule imports, still b'THREE'",
        "closed: ActorFailed actor swap: failed earlier: closed",
    ]


def test_an_exception_raised_in_a_host_function_reaches_the_caller_and_the_runtime_lives_on(
        scenario):
    assert scenario("guest_faults_from_host_functions") == [
        "Refusal from the host", "Refusal from the host", "memory 131072 bytes"]


def test_the_memory_cap_holds_on_the_board_and_not_in_the_simulator(scenario, engine):
    lines = scenario("memory_cap")
    if engine != "pywasm3":  # the board's wasm3 module, on either interpreter
        assert lines == ["Grow 1 page: 2", "Grow 1 page: 3", "Grow 1 page: -1",
                         "Fill 1 MiB in 16 pages: actor grow: Fill failed: out of memory"]
    else:  # pywasm3 has no cap: only the pages a module declares are checked
        assert lines == ["Grow 1 page: 2", "Grow 1 page: 3", "Grow 1 page: 4",
                         "Fill 1 MiB in 16 pages: True"]


def test_newer_toolchain_features_run_on_both_engines(scenario, actors):
    # the module really uses them: memory.copy, memory.fill, i32.extend8_s, a (i32)->(i32 i32)
    data = actors["features"]
    for opcode in (b"\xfc\x0a\x00\x00", b"\xfc\x0b\x00", b"\xc0", b"\x60\x01\x7f\x02\x7f\x7f"):
        assert opcode in data
    assert scenario("newer_features") == [
        "Copy: b'copied'",
        "Fill: b'*****'",
        "SignExtend: b'\\x7f\\x00\\x00\\x00\\x80\\xff\\xff\\xff\\xff\\xff\\xff\\xff'",
        "Pair: b'\\x05\\x00\\x00\\x00\\x07\\x00\\x00\\x00'",
    ]


def test_i64_f64_and_several_results_both_ways_and_a_host_answer_of_the_wrong_type(scenario,
                                                                                    engine):
    # pywasm3 0.5.0 mishandles a host function's answer it cannot convert (SystemError); the
    # board raises the conversion's own TypeError. The waPC host never returns a non-int.
    wrong = "SystemError" if engine == "pywasm3" else "TypeError"
    assert scenario("values") == [
        "(1.5, 1099511627779)", "(-0.25, -7)", "(0.0, 9223372036854775807)",
        "wrong type: " + wrong]
