"""The waPC host's engine-independent parts (exchange, inspector) under real MicroPython."""

from __future__ import annotations

import io

from edgehost.wapc import PROVIDED
from edgemodule.wasminspect import Inspection, LimitBroken

pytestmark = __import__("pytest").mark.micropython

EXCHANGE_SCRIPT = r"""
from edgehost.wapc import Exchange, GuestFault

mem = {"buf": bytearray(256)}


def get_memory(index):
    return memoryview(mem["buf"])


def put(ptr, data):
    mem["buf"][ptr:ptr + len(data)] = data


def host_call(binding, namespace, operation, payload):
    if operation == "Fail":
        raise ValueError("no route to " + namespace)
    return payload + b"!"


logs = []
ex = Exchange(get_memory, host_call, logs.append, max_payload=64, max_log=8)
ex.begin(b"Echo", b"payload")
ex.guest_request(16, 32)
print("request", bytes(mem["buf"][16:20]), bytes(mem["buf"][32:39]))
put(100, b"hello")
ex.guest_response(100, 5)
print("response", ex.response)

grown = bytearray(1024)  # the guest grew its memory: the host must see the new one
grown[:256] = mem["buf"]
mem["buf"] = grown
ex.guest_request(600, 700)
print("after growth", bytes(grown[600:604]), bytes(grown[700:707]))

put(300, b"default")
put(310, b"example:relay")
put(330, b"Relay.Forward")
put(350, b"ping")
print("host call", ex.host_call(300, 7, 310, 13, 330, 13, 350, 4), ex.host_response_len())
ex.host_response_into(800)
print("host response", bytes(mem["buf"][800:805]))
put(330, b"Fail")
print("failing host call", ex.host_call(300, 7, 310, 13, 330, 4, 350, 4),
      ex.host_response_len(), ex.host_error_len())
ex.host_error_into(900)
print("host error", bytes(mem["buf"][900:900 + ex.host_error_len()]))
put(330, b"Relay")
print("oversize host call", ex.host_call(300, 7, 310, 13, 330, 5, 350, 65), ex.host_error)
put(360, b"\xff\xfe")
print("bad name", ex.host_call(360, 2, 310, 13, 330, 5, 350, 4), ex.host_error)

put(400, b"boom")
ex.guest_error(400, 4)
print("guest error", ex.error)
ex.guest_response(0, 65)
print("oversize response", ex.oversize, ex.response)

put(420, b"0123456789ABCDEF")
ex.console_log(420, 16)
put(440, b"\xffok")
ex.console_log(440, 3)
print("logs", logs)

put(500, (420).to_bytes(4, "little") + (10).to_bytes(4, "little")
    + (430).to_bytes(4, "little") + (6).to_bytes(4, "little"))
print("fd_write", ex.fd_write(1, 500, 2, 520), int.from_bytes(bytes(mem["buf"][520:524]), "little"))

for name, args in (("guest_response", (-256, 4)), ("guest_request", (2000, 0)),
                   ("console_log", (16, -16)), ("host_error_into", (1020,)),
                   ("fd_write", (1, 1020, 1, 0))):
    try:
        getattr(ex, name)(*args)
        print(name, "no fault")
    except GuestFault as e:
        print("fault", e)

ex.begin(b"Next", b"")
print("reset", ex.response, ex.error, ex.host_response_len(), ex.host_error_len(), ex.oversize)
"""


def test_exchange_bookkeeping_on_the_board_interpreters(board_python):
    out = board_python(EXCHANGE_SCRIPT).splitlines()
    assert out == [
        "request b'Echo' b'payload'",
        "response b'hello'",
        "after growth b'Echo' b'payload'",
        "host call 1 5",
        "host response b'ping!'",
        "failing host call 0 0 25",
        "host error b'no route to example:relay'",
        "oversize host call 0 b'host call payload of 65 bytes is above the limit of 64'",
        "bad name 0 b'binding, namespace and operation must be UTF-8'",
        "guest error b'boom'",
        "oversize response 65 b''",
        "logs ['01234567... (16 bytes)', \"b'\\\\xffok'\"]",
        "fd_write 0 16",
        "fault __guest_response: 4 bytes at 0xffffff00 run past the end of linear memory"
        " (1024 bytes)",
        "fault __guest_request operation: 4 bytes at 0x7d0 run past the end of linear memory"
        " (1024 bytes)",
        "fault __console_log: 4294967280 bytes at 0x10 run past the end of linear memory"
        " (1024 bytes)",
        "fault __host_error: 46 bytes at 0x3fc run past the end of linear memory (1024 bytes)",
        "fault fd_write iovecs: 8 bytes at 0x3fc run past the end of linear memory (1024 bytes)",
        "reset None None 0 0 0",
    ]


INSPECT_SCRIPT = """
from edgemodule.wasminspect import Inspection, LimitBroken
from edgehost.wapc import PROVIDED

for name in NAMES:
    with open(name + ".wasm", "rb") as stream:
        seen = Inspection(stream, keep=("jwt",))
    try:
        seen.check(PROVIDED, 16)
        verdict = "ok"
    except LimitBroken as exc:
        verdict = "%s: %s" % (exc.rule, exc)
    print(name, seen.memory_pages, sorted(seen.exports),
          ["%s.%s %s" % (m, n, s) for m, n, k, s in seen.imports],
          [(n, size) for n, _, size in seen.custom_sections], seen.custom, verdict)
"""

NAMES = ["echo", "hostcall", "tinygo_style", "wasmbus_echo", "bad_import", "no_guest_call",
         "big_memory", "signed"]


def describe(name: str, data: bytes) -> str:
    """What INSPECT_SCRIPT prints for one module, computed on CPython."""
    seen = Inspection(io.BytesIO(data), keep=("jwt",))
    try:
        seen.check(PROVIDED, 16)
        verdict = "ok"
    except LimitBroken as exc:
        verdict = "%s: %s" % (exc.rule, exc)
    return " ".join(map(str, [
        name, seen.memory_pages, sorted(seen.exports),
        ["%s.%s %s" % (m, n, s) for m, n, k, s in seen.imports],
        [(n, size) for n, _, size in seen.custom_sections], seen.custom, verdict,
    ]))


def test_inspector_streams_modules_from_flash_on_the_board_interpreters(board_python, tmp_path,
                                                                       actors):
    modules = {name: actors[name] for name in NAMES if name != "signed"}
    modules["signed"] = actors["echo"] + b"\x00\x0b\x03jwta.b.c.d"  # a custom section "jwt"
    for name, data in modules.items():
        (tmp_path / (name + ".wasm")).write_bytes(data)
    out = board_python("NAMES = %r\n%s" % (NAMES, INSPECT_SCRIPT)).splitlines()
    assert out == [describe(name, modules[name]) for name in NAMES]
    assert out[4].endswith(
        "imports: imports what the host does not provide: env.random_bytes, "
        "wapc.__host_frobnicate"
    )
    assert out[5].endswith("exports: exports no __guest_call function")
    assert out[6].endswith("memory: declares 17 memory pages (1088 KiB), above the budget of"
                           " 16 pages (1024 KiB)")
    assert "[('jwt', 7)] {'jwt': [b'a.b.c.d']} ok" in out[7]


def test_host_refuses_a_module_under_micropython_before_any_engine_exists(board_python, tmp_path,
                                                                          actors):
    # MicroPython here has no wasm3 module at all: the refusal comes from the inspector alone.
    (tmp_path / "bad_import.wasm").write_bytes(actors["bad_import"])
    out = board_python(
        "from edgehost.wapc import WapcHost, ModuleRefused, Limits\n"
        "data = open('bad_import.wasm', 'rb').read()\n"
        "try:\n"
        "    WapcHost('bad_import', data, limits=Limits(memory_pages=2))\n"
        "except ModuleRefused as exc:\n"
        "    print(exc.rule, exc)\n"
    )
    assert out.strip() == (
        "imports actor bad_import: module refused: imports what the host does not provide: "
        "env.random_bytes, wapc.__host_frobnicate"
    )
