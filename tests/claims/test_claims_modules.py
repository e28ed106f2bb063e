"""Signed modules: the wascap hash, signing and re-signing, full verification, bad modules."""

from __future__ import annotations

import hashlib
import io

import pytest
import wasm3
from wasm_records import claims_payloads, custom, records

from edgegate.wascap import (
    ActorMetadata,
    ClaimsError,
    KeyPair,
    SignedModule,
    sign_module,
    tokens,
    verify_module,
)
from edgemodule.claimcheck import scan
from edgemodule.wasmsections import WasmFormatError

ISSUER = KeyPair.generate("account")
SUBJECT = KeyPair.generate("module")
NOW = 1_800_000_000


def sign(module: bytes, **meta) -> bytes:
    return sign_module(module, ISSUER, SUBJECT, ActorMetadata(meta.pop("name", "t"), **meta),
                       now=NOW)


@pytest.mark.parametrize("name", ["echo", "hostcall", "wasmbus_echo"])
def test_signed_actors_verify_and_still_load_in_wasm3(actors, name):
    signed = sign(actors[name], name=name, caps=["wasmcloud:httpserver"], tags=["demo"],
                  rev=3, ver="0.3.0", call_alias="greeter")
    claims = verify_module(signed, now=NOW)
    assert claims["iss"] == ISSUER.public_key and claims["sub"] == SUBJECT.public_key
    assert claims["wascap"] == {
        "name": name, "hash": hashlib.sha256(actors[name]).hexdigest().upper(), "tags": ["demo"],
        "caps": ["wasmcloud:httpserver"], "rev": 3, "ver": "0.3.0", "call_alias": "greeter",
        "prov": False,
    }
    assert claims["wascap_revision"] == 3
    assert signed.startswith(actors[name])  # the module itself is kept byte for byte
    wasm3.Environment().parse_module(signed)


def test_the_hash_cuts_out_every_claims_record_byte_for_byte(actors):
    head, body = actors["echo"][:8], actors["echo"][8:]
    # A non-minimal LEB128 size: re-encoding the records instead of copying would change it.
    kept = b"\x00" + b"\x86\x80\x80\x80\x00" + b"\x05other"  # size 6: name len 5 + "other"
    unsigned = head + kept + body
    token = claims_payloads(sign(actors["echo"]))[0]
    module = (head + custom("jwt", token) + kept + body
              + custom("wasmcloud_jwt", token) + custom("jwt", token))
    expected = hashlib.sha256(unsigned).hexdigest().upper()
    assert scan(io.BytesIO(module), len(module))[0] == expected
    assert SignedModule(module).hash == expected
    assert SignedModule(module).claimed_hash == hashlib.sha256(actors["echo"]).hexdigest().upper()


def test_resigning_replaces_the_claims_section(actors):
    first = sign(actors["echo"], name="first")
    with_newer_section = first + custom("wasmcloud_jwt", claims_payloads(first)[0])
    second = sign(with_newer_section, name="second", caps=["wasmcloud:keyvalue"])
    assert len(claims_payloads(second)) == 1
    assert [r[1] for r in records(second)].count("jwt") == 1
    claims = verify_module(second, now=NOW)
    assert (claims["wascap"]["name"], claims["wascap"]["caps"]) == (
        "second", ["wasmcloud:keyvalue"])
    assert claims["wascap"]["hash"] == verify_module(first, now=NOW)["wascap"]["hash"]


def test_resigning_drops_garbage_and_conflicting_claims(actors):
    bad = actors["echo"] + custom("jwt", b"\xff\xfe garbage") + custom("wasmcloud_jwt", b"x.y.z")
    assert verify_module(sign(bad, name="clean"), now=NOW)["wascap"]["name"] == "clean"


def test_the_same_token_in_both_sections_is_one_claim(actors):
    signed = sign(actors["echo"])
    both = signed + custom("wasmcloud_jwt", claims_payloads(signed)[0])
    assert verify_module(both, now=NOW)["sub"] == SUBJECT.public_key


def _claims_with(module_hash: str, **extra) -> dict:
    return {"jti": "j", "iat": NOW, "iss": ISSUER.public_key, "sub": SUBJECT.public_key,
            "wascap": {"name": "x", "hash": module_hash, "prov": False}, **extra}


@pytest.mark.parametrize("revision", [None, 0, 1, 2, 3])
def test_the_hash_is_checked_whatever_the_wascap_revision(actors, revision):
    extra = {} if revision is None else {"wascap_revision": revision}
    wrong = "AB" * 32
    token = tokens.encode(_claims_with(wrong, **extra), ISSUER)
    module = actors["echo"] + custom("wasmcloud_jwt", token.encode())
    actual = hashlib.sha256(actors["echo"]).hexdigest().upper()
    with pytest.raises(ClaimsError, match=f"hash mismatch: module {actual} vs claims {wrong}"):
        verify_module(module, now=NOW)


def test_a_changed_module_no_longer_matches_its_claims(actors):
    signed = bytearray(sign(actors["echo"]))
    code = next(r for r in records(bytes(signed)) if r[0] == 10)
    signed[code[4] - 2] ^= 0xFF
    with pytest.raises(ClaimsError, match="hash mismatch: module [0-9A-F]{64} vs claims "
                       "[0-9A-F]{64}"):
        verify_module(bytes(signed), now=NOW)


def test_time_limits_come_from_the_signer(actors):
    signed = sign_module(actors["echo"], ISSUER, SUBJECT, ActorMetadata("t"), expires_in=3600,
                         not_before=60, now=NOW)
    claims = verify_module(signed, now=NOW + 60)
    assert (claims["nbf"], claims["exp"]) == (NOW + 60, NOW + 3600)
    with pytest.raises(ClaimsError, match="not yet valid"):
        verify_module(signed, now=NOW)
    with pytest.raises(ClaimsError, match="expired"):
        verify_module(signed, now=NOW + 3600)


def test_signing_needs_an_account_issuer_and_a_module_subject(actors):
    with pytest.raises(ValueError, match="the issuer must be an account key, not a user key"):
        sign_module(actors["echo"], KeyPair.generate("user"), SUBJECT, ActorMetadata("t"))
    with pytest.raises(ValueError, match="the subject must be a module key, not a provider key"):
        sign_module(actors["echo"], ISSUER, KeyPair.generate("provider"), ActorMetadata("t"))


def bad_modules(echo: bytes) -> dict[str, tuple[bytes, type, str]]:
    """Each bad input, the error class it must raise, and what the message must say."""
    token = claims_payloads(sign(echo))[0]
    other = claims_payloads(sign(echo, name="other"))[0]
    wrong_header = "eyJ0eXAiOiJKV1QiLCJhbGciOiJFZERTQSJ9." + token.decode().split(".", 1)[1]
    return {
        "not-wasm": (b"\x7fELF\x02\x01\x01\x00rest", WasmFormatError,
                     "not a WebAssembly module"),
        "truncated": (echo[:-5], WasmFormatError, "runs past the end of the module"),
        "size-past-end": (echo + b"\x0b\x7f\x00", WasmFormatError,
                          "size 127 runs past the end"),
        "no-claims": (echo, ClaimsError, "no claims: the module has no jwt or wasmcloud_jwt"),
        "garbage-claims": (echo + custom("jwt", b"garbage, not a token"), ClaimsError,
                           "malformed token: a JWT has 3 dot-separated segments"),
        "binary-claims": (echo + custom("jwt", b"\xff\x00\xfe"), ClaimsError,
                          "malformed token: claims section 'jwt' at offset \\d+ is not UTF-8"),
        "two-claims": (echo + custom("jwt", token) + custom("wasmcloud_jwt", other), ClaimsError,
                       "conflicting claims: the module holds two different claims tokens"),
        "wrong-header": (echo + custom("jwt", wrong_header.encode()), ClaimsError,
                         'wrong algorithm: token header is {"typ": "JWT", "alg": "EdDSA"}'),
        "bad-signature": (echo + custom("jwt", tokens.encode(
            _claims_with(hashlib.sha256(echo).hexdigest().upper()),
            KeyPair.generate("account")).encode()), ClaimsError,
                          "bad signature: the signature does not verify against " +
                          ISSUER.public_key),
        "bad-issuer": (echo + custom("jwt", tokens.encode(
            {**_claims_with("00"), "iss": "Anot-a-key"}, ISSUER).encode()), ClaimsError,
                       "bad issuer: issuer is not a valid nkey"),
    }


BAD_NAMES = ["not-wasm", "truncated", "size-past-end", "no-claims", "garbage-claims",
             "binary-claims", "two-claims", "wrong-header", "bad-signature", "bad-issuer"]


@pytest.mark.parametrize("case", BAD_NAMES)
def test_bad_modules_are_refused_with_what_is_wrong(actors, case):
    data, error, message = bad_modules(actors["echo"])[case]
    with pytest.raises(error, match=message):
        verify_module(data, now=NOW)
