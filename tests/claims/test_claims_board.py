"""The board's part of claims, under the real MicroPython: streamed hash and claims check."""

from __future__ import annotations

import hashlib

import pytest
from wasm_records import claims_payloads, custom, records

from edgegate.wascap import ActorMetadata, KeyPair, sign_module, tokens

pytestmark = pytest.mark.micropython

ISSUER = KeyPair.generate("account")
SUBJECT = KeyPair.generate("module")

# Board code: check a module file, print the outcome or the failed check and its message.
CHECK_FILES = """
import os
from edgemodule.claimcheck import ClaimsError, check_module, scan
from edgemodule.wasmsections import WasmFormatError
for name in sorted(os.listdir('.')):
    if not name.endswith('.wasm'):
        continue
    size = os.stat(name)[6]
    with open(name, 'rb') as f:
        try:
            claims = check_module(f, size)
            print(name, 'ok', claims['sub'], claims['wascap']['hash'])
        except ClaimsError as e:
            print(name, 'refused', e.check, '|', e)
        except WasmFormatError as e:
            print(name, 'not-wasm', '|', e)
"""


def test_the_board_accepts_a_signed_actor_and_refuses_what_does_not_match(
    board_python, tmp_path, actors
):
    echo = actors["echo"]
    signed = sign_module(echo, ISSUER, SUBJECT, ActorMetadata("echo", ["wasmcloud:httpserver"]))
    token = claims_payloads(signed)[0]
    other = claims_payloads(sign_module(echo, ISSUER, SUBJECT, ActorMetadata("other")))[0]
    tampered = bytearray(signed)
    code_end = next(r[4] for r in records(signed) if r[0] == 10)
    tampered[code_end - 2] ^= 0xFF
    wrong_alg = tokens.b64url(b'{"typ":"JWT","alg":"EdDSA"}') + "." + token.decode().split(".")[1]
    files = {
        "a_signed.wasm": signed,
        "b_tampered.wasm": bytes(tampered),
        "c_unsigned.wasm": echo,
        "d_garbage.wasm": echo + custom("jwt", b"\xffgarbage"),
        "e_two.wasm": echo + custom("jwt", token) + custom("wasmcloud_jwt", other),
        "f_wrong_alg.wasm": echo + custom("wasmcloud_jwt", wrong_alg.encode() + b".sig"),
        "g_truncated.wasm": signed[:-10],
        "h_both_same.wasm": signed + custom("wasmcloud_jwt", token),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)

    lines = board_python(CHECK_FILES).splitlines()

    echo_hash = hashlib.sha256(echo).hexdigest().upper()
    assert lines[0] == f"a_signed.wasm ok {SUBJECT.public_key} {echo_hash}"
    assert lines[1].startswith("b_tampered.wasm refused hash mismatch | hash mismatch: module ")
    assert lines[1].endswith(f" vs claims {echo_hash}")
    assert lines[2].startswith("c_unsigned.wasm refused no claims |")
    assert lines[3].startswith("d_garbage.wasm refused malformed token |")
    assert lines[4].startswith("e_two.wasm refused conflicting claims |")
    assert lines[5].startswith("f_wrong_alg.wasm refused wrong algorithm |")
    assert lines[6].startswith("g_truncated.wasm not-wasm | ")
    assert "runs past the end" in lines[6]
    assert lines[7] == f"h_both_same.wasm ok {SUBJECT.public_key} {echo_hash}"


def test_the_board_hashes_in_small_reads_without_a_second_copy(board_python, tmp_path, actors):
    signed = sign_module(actors["hostcall"], ISSUER, SUBJECT, ActorMetadata("hostcall"))
    token_size = len(claims_payloads(signed)[0])
    (tmp_path / "signed.wasm").write_bytes(signed)
    out = board_python(
        "from edgemodule.claimcheck import scan\n"
        "class Stream:\n"
        "    # a file that records the largest single read asked of it\n"
        "    def __init__(self, f):\n"
        "        self.f = f\n"
        "        self.largest = 0\n"
        "    def read(self, n):\n"
        "        self.largest = max(self.largest, n)\n"
        "        return self.f.read(n)\n"
        "    def readinto(self, buf):\n"
        "        self.largest = max(self.largest, len(buf))\n"
        "        return self.f.readinto(buf)\n"
        "with open('signed.wasm', 'rb') as f:\n"
        "    s = Stream(f)\n"
        "    module_hash, token = scan(s, chunk_size=64)\n"
        "print(module_hash, s.largest, len(token))\n"
    ).split()
    assert out[0] == hashlib.sha256(actors["hostcall"]).hexdigest().upper()
    assert int(out[2]) == token_size
    # Module bytes pass through a 64-byte buffer; only the claims token is read whole.
    assert int(out[1]) == max(64, token_size)
    assert len(signed) > 10 * 64
