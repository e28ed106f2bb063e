"""The module inspector: imports, exports, memory, custom sections and the host's limits."""

from __future__ import annotations

import io
import tracemalloc

import pytest

from edgehost.wapc import PROVIDED
from edgemodule.wasminspect import Inspection, LimitBroken, inspect_bytes
from edgemodule.wasmsections import WasmFormatError

HEADER = b"\x00asm\x01\x00\x00\x00"


def uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def name(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return uleb(len(raw)) + raw


def section(sid: int, payload: bytes) -> bytes:
    return bytes([sid]) + uleb(len(payload)) + payload


def custom(section_name: str, payload: bytes) -> bytes:
    return section(0, name(section_name) + payload)


def vec(items: list[bytes]) -> bytes:
    return uleb(len(items)) + b"".join(items)


I32 = b"\x7f"
TYPES = section(1, vec([
    b"\x60" + vec([I32, I32]) + vec([]),  # 0: v(ii)
    b"\x60" + vec([I32, I32]) + vec([I32]),  # 1: i(ii)
]))
GUEST_CALL_EXPORT = section(7, vec([name("__guest_call") + b"\x00" + uleb(1)]))
FUNCTIONS = section(3, vec([uleb(1)]))
CODE = section(10, vec([name(b"\x00\x41\x01\x0b")]))  # () -> i32.const 1


def module(*sections: bytes) -> bytes:
    return HEADER + b"".join(sections)


def func_import(mod: str, field: str, type_index: int) -> bytes:
    return name(mod) + name(field) + b"\x00" + uleb(type_index)


def test_actor_imports_exports_and_memory(actors):
    seen = inspect_bytes(actors["tinygo_style"])
    assert ("wasi_snapshot_preview1", "fd_write", "func", "i(iiii)") in seen.imports
    assert ("wapc", "__guest_request", "func", "v(ii)") in seen.imports
    assert seen.exports["__guest_call"] == "func"
    assert seen.exports_function("_start")
    assert (seen.memory_pages, seen.memory_max_pages) == (2, None)
    seen.check(PROVIDED, max_memory_pages=2)


def test_hostcall_actor_imports_the_host_call_functions_with_their_signatures(actors):
    imports = {(m, n): sig for m, n, _, sig in inspect_bytes(actors["hostcall"]).imports}
    assert imports[("wapc", "__host_call")] == "i(iiiiiiii)"
    assert imports[("wapc", "__host_response_len")] == "i()"
    assert imports[("wapc", "__host_error")] == "v(i)"


def test_wasmbus_actor_imports_from_wasmbus(actors):
    seen = inspect_bytes(actors["wasmbus_echo"])
    assert {m for m, _, _, _ in seen.imports} == {"wasmbus"}
    assert seen.exports_function("__wasmbus_rpc_version")


def test_custom_sections_are_listed_and_the_wanted_ones_kept(actors):
    data = actors["echo"] + custom("jwt", b"header.claims.sig") + custom("producers", b"x" * 40)
    seen = inspect_bytes(data, keep=("jwt", "wasmcloud_jwt"))
    names = [(n, size) for n, _, size in seen.custom_sections]
    assert names == [("jwt", 17), ("producers", 40)]
    offset = seen.custom_sections[0][1]
    assert data[offset:offset + 17] == b"header.claims.sig"
    assert seen.custom == {"jwt": [b"header.claims.sig"]}


def test_custom_section_above_the_kept_bound_is_listed_not_kept(actors):
    data = actors["echo"] + custom("jwt", b"j" * 100)
    seen = inspect_bytes(data, keep=("jwt",), max_kept=99)
    assert seen.custom_sections[0][2] == 100
    assert seen.custom == {}


def test_unknown_imports_are_listed_by_name_with_their_kind():
    data = module(
        TYPES,
        section(2, vec([
            func_import("wapc", "__guest_request", 0),
            func_import("env", "abort", 0),
            name("env") + name("memory") + b"\x02\x00" + uleb(3),
        ])),
    )
    seen = inspect_bytes(data)
    assert seen.memory_pages == 3  # an imported memory counts too
    with pytest.raises(LimitBroken) as caught:
        seen.check(PROVIDED, max_memory_pages=16)
    assert caught.value.rule == "imports"
    assert str(caught.value) == (
        "imports what the host does not provide: env.abort, env.memory (memory)"
    )


def test_import_with_the_wrong_signature_is_refused():
    data = module(TYPES, section(2, vec([func_import("wapc", "__host_call", 1)])))
    wrong = r"wapc.__host_call is i\(ii\), the host's is i\(iiiiiiii\)"
    with pytest.raises(LimitBroken, match=wrong):
        inspect_bytes(data).check(PROVIDED, max_memory_pages=16)


def test_memory_budget_is_checked_against_the_declared_pages():
    data = module(section(5, vec([b"\x01" + uleb(17) + uleb(20)])), TYPES, FUNCTIONS,
                  GUEST_CALL_EXPORT, CODE)
    seen = inspect_bytes(data)
    assert (seen.memory_pages, seen.memory_max_pages) == (17, 20)
    seen.check(PROVIDED, max_memory_pages=17)
    with pytest.raises(LimitBroken, match="declares 17 memory pages .1088 KiB., above the budget"):
        seen.check(PROVIDED, max_memory_pages=16)


def test_missing_guest_call_and_a_guest_call_that_is_not_a_function():
    with pytest.raises(LimitBroken, match="exports no __guest_call function") as caught:
        inspect_bytes(module(TYPES)).check(PROVIDED, max_memory_pages=16)
    assert caught.value.rule == "exports"
    as_global = module(section(7, vec([name("__guest_call") + b"\x03" + uleb(0)])))
    with pytest.raises(LimitBroken, match="exports no __guest_call function"):
        inspect_bytes(as_global).check(PROVIDED, max_memory_pages=16)


@pytest.mark.parametrize(
    "data, message",
    [
        (module(section(2, vec([name("env") + name("f") + b"\x00" + uleb(0)]))),
         "env.f uses type 0, the module has 0"),
        (module(TYPES, section(2, vec([name("env") + name("f") + b"\x09"]))),
         "env.f has unknown kind 9"),
        (module(section(2, b"\x02" + name("env"))), "import section: an entry runs past"),
        (module(section(1, vec([b"\x5f"]))), "unsupported type form 0x5f"),
        (module(section(1, vec([b"\x60\x01\x40\x00"]))), "unknown value type 0x40"),
        (module(section(7, vec([name(b"\xff\xfe") + b"\x00\x00"]))), "name is not UTF-8"),
        (module(section(7, vec([uleb(5000) + b"x"]))), "5000 bytes is longer than"),
        (module(section(5, vec([b"\x04\x01"]))), "unsupported limits flags 0x04"),
        (module(section(7, vec([name("x") + b"\x07\x00"]))), "x has unknown kind 7"),
        (module(section(5, b"\x01\x00\xff\xff\xff\xff\xff")), "LEB128 longer than 5 bytes"),
    ],
    ids=["type-index", "import-kind", "entry-past-end", "type-form", "value-type", "utf8",
         "long-name", "memory64", "export-kind", "leb"],
)
def test_malformed_sections_are_refused_with_where_and_why(data, message):
    with pytest.raises(WasmFormatError, match=message):
        inspect_bytes(data)


def test_inspection_streams_in_bounded_memory(tmp_path):
    # A 1 MiB custom section (say, debug info) must not be held while inspecting.
    path = tmp_path / "big.wasm"
    path.write_bytes(module(TYPES, custom("debug", bytes(1024 * 1024)), FUNCTIONS,
                            GUEST_CALL_EXPORT, CODE))
    with path.open("rb") as stream:
        tracemalloc.start()
        seen = Inspection(stream, path.stat().st_size)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert seen.custom_sections[0][2] == 1024 * 1024
    assert seen.exports_function("__guest_call")
    assert peak < 32 * 1024


def test_reads_a_stream_without_knowing_its_size(actors):
    seen = Inspection(io.BytesIO(actors["hostcall"]))
    assert seen.size == len(actors["hostcall"])
    assert seen.exports_function("__guest_call")
