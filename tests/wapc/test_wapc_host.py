"""The board's waPC host on pywasm3, driven with the project's own actors."""

from __future__ import annotations

import pytest

from edgehost.wapc import (
    ActorFailed,
    GuestError,
    Limits,
    ModuleRefused,
    NoGuestCall,
    PayloadTooLarge,
    TrapError,
    WapcHost,
)
from edgemodule.fit import WAPC_FUNCTIONS

BIG = Limits(max_payload=2 * 1024 * 1024)


def u32(n: int) -> bytes:
    return n.to_bytes(4, "little")


def pattern(n: int) -> bytes:
    return bytes(i % 251 for i in range(n))


def test_echo_round_trip(actors):
    host = WapcHost("echo", actors["echo"])
    assert host.call("Echo", b"hello board") == b"hello board"
    assert host.call(b"Echo", b"") == b""


def test_classic_actor_health_goes_to_healthrequest(actors):
    host = WapcHost("echo", actors["echo"])
    assert host.rpc_version == 0
    assert host.health_operation == "HealthRequest"
    assert host.call(host.health_operation) == b"\x81\xa7healthy\xc3"


def test_wasmbus_actor_reports_its_rpc_version_and_answers_actor_health(actors):
    host = WapcHost("wasmbus_echo", actors["wasmbus_echo"])
    assert host.rpc_version == 1
    assert host.health_operation == "Actor.HealthRequest"
    assert host.call(host.health_operation) == b"\x81\xa7healthy\xc3"
    assert host.call("Echo.Echo", b"over wasmbus") == b"over wasmbus"


def test_wasmbus_actor_gets_all_nine_host_functions_from_the_wasmbus_module(actors):
    logs: list[str] = []
    answers = iter([b"relayed", PermissionError("denied")])

    def relay(binding, namespace, operation, payload):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer + b": " + payload

    host = WapcHost("wasmbus_echo", actors["wasmbus_echo"], host_call=relay, on_log=logs.append)
    imported = {(m, n) for m, n, _, _ in host.inspection.imports}
    assert imported == {("wasmbus", name) for name in WAPC_FUNCTIONS}
    assert host.call("Echo.Relay", b"hi") == b"relayed: hi"
    with pytest.raises(GuestError, match="Echo.Relay failed: host call failed: denied"):
        host.call("Echo.Relay", b"hi")
    assert logs == ["relaying", "relaying"]


def test_start_functions_run_once_in_the_spec_order(actors):
    logs: list[str] = []
    host = WapcHost("startup_order", actors["startup_order"], on_log=logs.append)
    order = ["__wasmbus_rpc_version", "start", "wapc_init", "_start"]
    assert logs == order
    assert host.call("Started") == ",".join(order).encode()
    assert host.rpc_version == 0  # it exports the function but answers 0


def test_tinygo_style_guest_gets_wasi_fd_write_and_its_start(actors):
    host = WapcHost("tinygo_style", actors["tinygo_style"])
    assert host.call("Echo", b"tiny") == b"tiny"


def test_unknown_operation_is_the_guests_error_naming_actor_and_operation(actors):
    host = WapcHost("echo", actors["echo"])
    with pytest.raises(GuestError) as caught:
        host.call("Frobnicate", b"x")
    assert str(caught.value) == "actor echo: Frobnicate failed: unknown operation: Frobnicate"
    assert caught.value.actor == "echo" and caught.value.operation == "Frobnicate"
    assert host.call("Echo", b"still here") == b"still here"


def test_host_call_round_trip(actors):
    seen = []

    def relay(binding, namespace, operation, payload):
        seen.append((binding, namespace, operation, payload))
        return payload[::-1]

    host = WapcHost("hostcall", actors["hostcall"], host_call=relay)
    assert host.call("Relay", b"ping") == b"gnip"
    assert seen == [("default", "example:relay", "Relay.Forward", b"ping")]


def test_host_error_reaches_the_guest_which_reports_it(actors):
    def refuse(binding, namespace, operation, payload):
        raise LookupError("no link for example:relay")

    host = WapcHost("hostcall", actors["hostcall"], host_call=refuse)
    with pytest.raises(GuestError, match="host call failed: no link for example:relay"):
        host.call("Relay", b"ping")
    assert host.call("HealthRequest") == b"\x81\xa7healthy\xc3"


def test_host_without_a_host_call_handler_answers_with_a_host_error(actors):
    host = WapcHost("hostcall", actors["hostcall"])
    with pytest.raises(GuestError, match="host call failed: this host serves no host calls"):
        host.call("Relay", b"ping")


def test_host_call_handler_returning_no_bytes_is_a_host_error(actors):
    host = WapcHost("hostcall", actors["hostcall"], host_call=lambda *args: None)
    with pytest.raises(GuestError, match="host call handler returned NoneType, not bytes"):
        host.call("Relay", b"ping")


def test_host_response_above_the_payload_limit_is_a_host_error(actors):
    host = WapcHost("hostcall", actors["hostcall"], host_call=lambda *args: bytes(2048),
                    limits=Limits(max_payload=1024))
    with pytest.raises(GuestError, match="host response of 2048 bytes is above the limit of 1024"):
        host.call("Relay", b"ping")


def test_guest_error_keeps_the_instance(actors):
    host = WapcHost("faults", actors["faults"])
    assert host.call("Count") == b"\x01"
    with pytest.raises(GuestError, match="^actor faults: Fail failed: failed on purpose$"):
        host.call("Fail")
    assert host.call("Count") == b"\x02"


def test_guest_failing_without_a_message_still_gets_a_clear_error(actors):
    host = WapcHost("faults", actors["faults"])
    with pytest.raises(GuestError, match="FailSilently failed: the guest returned 0 without"):
        host.call("FailSilently")


@pytest.mark.parametrize(
    "operation, cause",
    [
        ("Unreachable", "unreachable executed"),
        ("OutOfBounds", "out of bounds memory access"),
        ("DivideByZero", "integer divide by zero"),
        ("Recurse", "stack overflow"),
        ("WildResponse", "__guest_response: 64 bytes at 0xffffff00 run past the end"),
        ("WildLog", "__console_log: 4294967280 bytes at 0x10 run past the end"),
    ],
)
def test_trap_names_actor_and_cause_and_the_instance_is_rebuilt(actors, operation, cause):
    host = WapcHost("faults", actors["faults"])
    assert host.call("Count") == b"\x01"
    assert host.call("Count") == b"\x02"
    with pytest.raises(TrapError) as caught:
        host.call(operation)
    assert str(caught.value).startswith("actor faults: trapped in %s: %s" % (operation, cause))
    assert caught.value.rebuilt
    assert host.call("Count") == b"\x01"  # a fresh instance: its state starts over


def test_memory_growth_during_a_call_then_a_large_response(actors):
    host = WapcHost("grow", actors["grow"], limits=BIG)
    size = 1024 * 1024  # the actor starts with 2 pages and grows to about 18
    assert host.call("Fill", u32(size)) == pattern(size)


def test_host_response_lands_in_memory_grown_during_the_call(actors):
    answer = pattern(300 * 1024)
    host = WapcHost("grow", actors["grow"], host_call=lambda *args: answer, limits=BIG)
    assert host.call("GrowThenRelay", u32(512 * 1024) + b"please") == answer


def test_payload_of_64_kib_and_more_both_ways(actors):
    host = WapcHost("echo", actors["echo"], limits=Limits(max_payload=256 * 1024))
    for size in (64 * 1024, 64 * 1024 + 1, 200 * 1024):
        payload = pattern(size)
        assert host.call("Echo", payload) == payload


def test_host_call_payload_of_64_kib_both_ways(actors):
    big = pattern(64 * 1024)
    seen = []

    def relay(binding, namespace, operation, payload):
        seen.append(payload)
        return payload[::-1]

    host = WapcHost("hostcall", actors["hostcall"], host_call=relay)
    assert host.call("Relay", big) == big[::-1]
    assert seen == [big]


def test_payload_above_the_limit_is_refused_before_the_guest_runs(actors):
    host = WapcHost("faults", actors["faults"], limits=Limits(max_payload=1000))
    with pytest.raises(PayloadTooLarge, match="payload of 1001 bytes for Count is above the limit"):
        host.call("Count", bytes(1001))
    assert host.call("Count", bytes(1000)) == b"\x01"  # the refused call never reached it


def test_response_above_the_limit_is_refused(actors):
    host = WapcHost("grow", actors["grow"], limits=Limits(max_payload=4096))
    with pytest.raises(PayloadTooLarge, match="answer of 5000 bytes to Fill is above the limit"):
        host.call("Fill", u32(5000))
    assert host.call("Fill", u32(4096)) == pattern(4096)


def test_guest_console_lines_reach_the_log_handler(actors):
    logs: list[str] = []
    WapcHost("startup_order", actors["startup_order"], on_log=logs.append)
    assert logs[0] == "__wasmbus_rpc_version"


def test_a_failing_log_handler_does_not_break_the_actor(actors):
    def broken(text):
        raise RuntimeError("log sink gone")

    host = WapcHost("startup_order", actors["startup_order"], on_log=broken)
    assert host.call("Started").startswith(b"__wasmbus_rpc_version")


def test_re_entrant_call_from_a_host_call_is_refused_not_deadlocked(actors):
    holder = {}

    def call_back_in(binding, namespace, operation, payload):
        return holder["host"].call("HealthRequest")

    host = WapcHost("hostcall", actors["hostcall"], host_call=call_back_in)
    holder["host"] = host
    with pytest.raises(GuestError, match="called from inside its own call"):
        host.call("Relay", b"x")


def test_unknown_import_is_refused_listing_every_name(actors):
    with pytest.raises(ModuleRefused) as caught:
        WapcHost("bad_import", actors["bad_import"])
    assert caught.value.rule == "imports"
    assert str(caught.value) == (
        "actor bad_import: module refused: imports what the host does not provide: "
        "env.random_bytes, wapc.__host_frobnicate"
    )


def test_module_without_guest_call_is_refused(actors):
    with pytest.raises(NoGuestCall, match="actor no_guest_call: .*exports no __guest_call"):
        WapcHost("no_guest_call", actors["no_guest_call"])


def test_memory_above_the_budget_is_refused_and_within_it_runs(actors):
    with pytest.raises(ModuleRefused, match="declares 17 memory pages .* budget of 16 pages"):
        WapcHost("big_memory", actors["big_memory"], limits=Limits(memory_pages=16))
    host = WapcHost("big_memory", actors["big_memory"], limits=Limits(memory_pages=17))
    assert host.call("Echo", b"roomy") == b"roomy"


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "not a WebAssembly module"),
        (b"\x7fELF\x02\x01\x01\x00", "not a WebAssembly module"),
        (b"\x00asm\x01\x00\x00\x00\x01\x09\x01", "runs past the end"),
    ],
    ids=["empty", "elf", "truncated"],
)
def test_malformed_module_is_refused_as_format(data, reason):
    refused = "^actor junk: module refused: not a valid module: "
    with pytest.raises(ModuleRefused, match=refused) as caught:
        WapcHost("junk", data)
    assert caught.value.rule == "format"
    assert reason in caught.value.reason


def test_trap_in_a_start_function_refuses_the_module(actors):
    def no(*args):
        raise PermissionError("not today")

    with pytest.raises(TrapError, match="^actor init_check: trapped in wapc_init: unreachable"):
        WapcHost("init_check", actors["init_check"], host_call=no)


def test_actor_that_cannot_be_rebuilt_after_a_trap_is_failed_until_swapped(actors):
    allowed = {"start": True}

    def init_check(binding, namespace, operation, payload):
        if not allowed["start"]:
            raise PermissionError("no more starts")
        return b""

    host = WapcHost("init_check", actors["init_check"], host_call=init_check)
    allowed["start"] = False
    with pytest.raises(TrapError) as caught:
        host.call("Crash")
    assert not caught.value.rebuilt
    assert "trapped in wapc_init" in host.failed
    with pytest.raises(ActorFailed, match="^actor init_check: failed earlier: .*Crash"):
        host.call("Echo", b"anyone?")
    allowed["start"] = True
    host.swap(actors["init_check"])
    assert host.call("Echo", b"back") == b"back"


def test_closed_host_refuses_calls(actors):
    host = WapcHost("echo", actors["echo"])
    host.close()
    with pytest.raises(ActorFailed, match="actor echo: failed earlier: closed"):
        host.call("Echo")


def test_module_the_engine_cannot_compile_is_refused_naming_the_engine():
    # Well-formed sections the inspector accepts, but __guest_call's body holds opcode 0xff.
    body = b"\x00\xff\x0b"
    data = (
        b"\x00asm\x01\x00\x00\x00"
        + b"\x01\x07\x01\x60\x02\x7f\x7f\x01\x7f"  # type 0: i(ii)
        + b"\x03\x02\x01\x00"  # function 0 has type 0
        + b"\x07\x10\x01\x0c__guest_call\x00\x00"  # export it as __guest_call
        + b"\x0a" + bytes([len(body) + 2, 1, len(body)]) + body
    )
    with pytest.raises(ModuleRefused, match="^actor broken: module refused: unknown opcode") as e:
        WapcHost("broken", data)
    assert e.value.rule == "engine"


@pytest.mark.parametrize(
    "operation, payload, message",
    [
        (42, b"", "actor echo: operation must be bytes, not int"),
        ("Echo", "text", "actor echo: payload must be bytes, bytearray or memoryview, not str"),
    ],
)
def test_wrong_argument_types_are_refused_without_touching_the_instance(actors, operation,
                                                                         payload, message):
    host = WapcHost("echo", actors["echo"])
    with pytest.raises(TypeError, match="^%s$" % message):
        host.call(operation, payload)
    assert host.call("Echo", bytearray(b"ok")) == b"ok"
    assert host.call(b"Echo", memoryview(b"fine")) == b"fine"


def test_module_of_the_wrong_type_is_refused_with_one_line(actors):
    with pytest.raises(TypeError, match="^actor echo: module must be bytes, bytearray or "
                                        "memoryview, not str$"):
        WapcHost("echo", "echo.wasm")
    assert WapcHost("echo", bytearray(actors["echo"])).call("Echo", b"ok") == b"ok"
