"""Valid inputs for each fuzz target, the starting points that mutations are made from.

Random bytes rarely get past a decoder's first check; a corrupted valid frame, message,
module, token or envelope reaches the code behind it.
"""

from __future__ import annotations

import random

import msgpack
from fuzztargets import MAX_FRAME

from edgecli import actorbuild
from edgegate.rpc.invocation import Entity, Invocation, InvocationResponse
from edgegate.wascap import ActorMetadata, KeyPair, sign_module, tokens
from edgelink import mpack
from edgelink.frame import FrameWriter

ACTORS = ("echo", "hostcall", "features", "greeter", "grow")


def _messages() -> list[dict]:
    sha = bytes(range(32))
    return [
        {"t": "hello", "id": 0, "board": "kitchen", "firmware": "0.1", "engine": "wasm3",
         "profile": "esp32", "max_frame": 1024, "window": 4, "free_mem": 1 << 20,
         "free_flash": 1 << 22, "actors": {"echo": {"sha256": sha}}},
        {"t": "install", "id": 7, "actor": "echo", "sha256": sha, "size": 70000},
        {"t": "invoke", "id": 8, "actor": "echo", "op": "Echo", "origin": "M" + "A" * 55,
         "body": b"hello"},
        {"t": "chunk", "id": 7, "at": 4096, "data": b"\x00" * 40},
        {"t": "error", "id": 9, "code": "busy", "message": "one body at a time"},
        {"t": "health", "id": 0, "free_mem": 5, "free_flash": 6, "uptime_ms": 2 ** 40,
         "actors": {"a": [1, 2.5, None, True]}},
    ]


def _modules() -> list[bytes]:
    built = actorbuild.build_all()
    plain = [built[name].read_bytes() for name in ACTORS if name in built]
    account, module = KeyPair.generate("account"), KeyPair.generate("module")
    signed = sign_module(plain[0], account, module,
                         ActorMetadata(name="echo", caps=["wasmcloud:httpserver"]))
    return plain + [signed]


def _tokens() -> list[bytes]:
    account = KeyPair.generate("account")
    claims = {"jti": tokens.new_jti(), "iat": 1700000000, "exp": 1900000000,
              "iss": account.public_key, "sub": "M" + "B" * 55,
              "wascap": {"name": "x", "hash": "AB" * 32, "caps": ["a:b"]}}
    return [tokens.encode(claims, account).encode()]


def _invocations() -> list[bytes]:
    inv = Invocation(Entity.actor("M" + "C" * 55),
                     Entity("V" + "D" * 55, "default", "wasmcloud:keyvalue"), "Get",
                     b"\x92\x01\x02", host_id="N" + "E" * 55, encoded_claims="a.b.c",
                     trace_context={"traceparent": "00-1-2-01"})
    response = InvocationResponse(inv.id, b"ok", error="nope", instance_id="i")
    return [inv.pack(), response.pack()]


def seeds() -> dict[str, list[bytes]]:
    """{target name: valid inputs}."""
    rng = random.Random(14)
    records = [b"", b"\x00" * 8, bytes(rng.randrange(256) for _ in range(MAX_FRAME - 5))]
    writer = FrameWriter(MAX_FRAME)
    frames = [b"".join(bytes(writer.encode(r)) + b"\x00" for r in records)]
    packed = [mpack.packb(m) for m in _messages()]
    values = [mpack.packb([None, True, -1, 2 ** 63 - 1, -(2 ** 63), 1.5, "é", b"\xff",
                           {"k": [1, {"n": 2}]}]),
              msgpack.packb({"a": 2 ** 64 - 1, "f": float("nan")})]
    modules = _modules()
    return {
        "frame_decoder": frames,
        "message_decoder": packed,
        "msgpack_codec": packed + values,
        "wasm_sections": modules,
        "wasm_inspector": modules,
        "jwt_claims": _tokens() + modules[-1:],
        "invocation_decoder": _invocations(),
    }


def mutate(data: bytes, rng: random.Random, rounds: int = 3) -> bytes:
    """`data` with a few random flips, cuts, insertions, duplications or boundary values."""
    out = bytearray(data)
    for _ in range(rng.randint(1, rounds)):
        kind = rng.randrange(7)
        at = rng.randrange(len(out) + 1)
        if kind == 0 and out:
            out[min(at, len(out) - 1)] ^= 1 << rng.randrange(8)
        elif kind == 1:
            del out[at:at + rng.randint(1, 16)]
        elif kind == 2:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif kind == 3 and out:
            start = rng.randrange(len(out))
            out[at:at] = out[start:start + rng.randint(1, 64)]
        elif kind == 4:
            out[at:at + 1] = rng.choice([b"\x00", b"\xff", b"\x7f", b"\x80", b"\xdd\xff\xff",
                                         b"\xdb\xff\xff\xff\xff", b"\xff\xff\xff\xff\x0f"])
        elif kind == 5:
            out[:] = nest(bytes(out), rng.randint(1, 1200), rng)
        else:
            del out[at:]
    return bytes(out)


def nest(data: bytes, depth: int, rng: random.Random) -> bytes:
    """`data` with `depth` levels of msgpack maps or arrays put where one of its own maps or
    arrays starts, so that it stays well-formed: decoders that recurse must stop before the
    stack does."""
    starts = [i for i, b in enumerate(data) if 0x80 <= b <= 0x9F] or [0]
    level = rng.choice([b"\x91", b"\x81\xa1a", b"\xdc\x00\x01", b"\x81\x00"])
    at = rng.choice(starts)
    return data[:at] + level * depth + data[at:]
