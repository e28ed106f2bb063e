"""Claims JWTs: wascap's header, checked independently with PyJWT and nkeys, and every failure."""

from __future__ import annotations

import base64
import hashlib
import json
import os

import jwt
import nkeys
import pytest

from edgegate.wascap import ClaimsError, KeyPair, Token, tokens
from edgemodule.claimcheck import hex_upper

NOW = 1_800_000_000


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def nkeys_seed(prefix: int) -> bytes:
    return nkeys.encode_seed(os.urandom(32), prefix)


def hand_made_token(header: bytes, claims: dict, seed: bytes) -> str:
    """A token built with nkeys and base64 only, as another wascap implementation would."""
    signing_input = b64(header) + "." + b64(json.dumps(claims).encode())
    signature = nkeys.from_seed(seed).sign(signing_input.encode())
    return signing_input + "." + b64(signature)


def test_a_token_signed_here_checks_out_with_pyjwt_and_nkeys_alone():
    seed = nkeys_seed(nkeys.PREFIX_BYTE_CLUSTER)
    claims = {"jti": tokens.new_jti(), "iat": NOW, "iss": "ignored", "sub": "inv-1",
              "wascap": {"target_url": "wasmbus://Mx/Op", "origin_url": "wasmbus://Vy",
                         "hash": "00"}}
    signer = KeyPair.from_seed(seed.decode())
    claims["iss"] = signer.public_key
    token = tokens.encode(claims, signer)

    assert jwt.get_unverified_header(token) == {"typ": "jwt", "alg": "Ed25519"}
    assert base64.urlsafe_b64decode(token.split(".")[0] + "==") == (
        b'{"typ":"jwt","alg":"Ed25519"}'
    )
    assert jwt.decode(token, options={"verify_signature": False}) == claims
    issuer = nkeys.from_seed(seed)
    assert claims["iss"] == issuer.public_key.decode()
    signing_input, _, signature = token.rpartition(".")
    assert issuer.verify(signing_input.encode(), base64.urlsafe_b64decode(signature + "=="))
    assert len(claims["jti"]) == 22


def test_a_token_made_elsewhere_verifies_here():
    seed = nkeys_seed(nkeys.PREFIX_BYTE_ACCOUNT)
    claims = {"jti": "x" * 22, "iat": NOW, "iss": nkeys.from_seed(seed).public_key.decode(),
              "sub": "Mbob", "nbf": NOW - 10, "exp": NOW + 10, "wascap": {"hash": "AB"}}
    token = hand_made_token(b'{"typ":"jwt","alg":"Ed25519"}', claims, seed)
    assert tokens.verify(token, now=NOW) == claims


def test_public_check_values_for_lattice_hashes_go_through_the_token_code():
    # wasmbus-lattice.md §3 and §5: upper-case hex SHA-256 of plain concatenations.
    link_id = hex_upper(hashlib.sha256(b"Mbob" + b"wasmcloud:testy" + b"default").digest())
    assert link_id == "B40411AD09B70A2C83D59923584F66BA2C5A3C274DC4F19416DA49CCD6531F9C"
    origin = "wasmbus://wasmcloud/tester/default/i-am-provider-key"
    target = "wasmbus://i-am-actor-key/Derper.Derp"
    digest = hashlib.sha256((origin + target + "Derper.Derp" + "yolo").encode()).digest()
    invocation_hash = hex_upper(digest)
    assert invocation_hash == "68B0A4763B1073A1B961B3EF8E8128BC38A65906310C074606CFA2193FE848D6"

    cluster = KeyPair.generate("cluster")
    claims = {"jti": tokens.new_jti(), "iat": NOW, "iss": cluster.public_key, "sub": "inv-1",
              "wascap": {"target_url": target, "origin_url": origin, "hash": invocation_hash}}
    assert tokens.verify(tokens.encode(claims, cluster), now=NOW)["wascap"]["hash"] == (
        invocation_hash
    )


ACCOUNT = KeyPair.generate("account")
GOOD_CLAIMS = {"jti": "j", "iat": NOW, "iss": ACCOUNT.public_key, "sub": "s"}


def signed(claims: dict, signer: KeyPair = ACCOUNT) -> str:
    return tokens.encode(claims, signer)


@pytest.mark.parametrize(
    "header",
    [b'{"typ":"JWT","alg":"EdDSA"}', b'{"typ":"jwt","alg":"EdDSA"}', b'{"alg":"Ed25519"}',
     b'{"typ":"jwt","alg":"Ed25519","kid":"k"}', b'["jwt"]'],
    ids=["standard", "eddsa", "no-typ", "extra-field", "not-an-object"],
)
def test_a_header_other_than_wascaps_is_the_wrong_algorithm(header):
    seed = nkeys_seed(nkeys.PREFIX_BYTE_ACCOUNT)
    token = hand_made_token(header, GOOD_CLAIMS, seed)
    with pytest.raises(ClaimsError, match=r'wrong algorithm: token header is .* expected '
                       r'\{"typ":"jwt","alg":"Ed25519"\}') as caught:
        Token(token)
    assert caught.value.check == "wrong algorithm"


@pytest.mark.parametrize(
    "text, message",
    [
        ("abc.def", "has 3 dot-separated segments, this one has 2"),
        ("a.b.c.d", "this one has 4"),
        ("!!!!.e30.AAAA", "the header segment is not base64url-encoded JSON"),
        (b64(b'{"typ":"jwt","alg":"Ed25519"}') + ".bm90IGpzb24.AAAA",
         "the claims segment is not base64url-encoded JSON"),
        (b64(b'{"typ":"jwt","alg":"Ed25519"}') + "." + b64(b"[1]") + ".AAAA",
         "the claims segment is not a JSON object"),
        (signed(GOOD_CLAIMS)[:-3] + "*!*", "the signature segment is not base64url"),
        (signed({**GOOD_CLAIMS, "exp": "tomorrow"}), "claim 'exp' is 'tomorrow', not a unix"),
        (signed({**GOOD_CLAIMS, "nbf": 10**20}), "claim 'nbf' is 100000000000000000000, not a"),
        (signed({**GOOD_CLAIMS, "iat": True}), "claim 'iat' is True, not a unix time"),
    ],
    ids=["two-segments", "four-segments", "header", "claims", "claims-array", "signature",
         "exp-type", "nbf-out-of-range", "iat-bool"],
)
def test_malformed_tokens_are_refused_with_the_reason(text, message):
    with pytest.raises(ClaimsError, match="malformed token: .*" + message):
        Token(text)


@pytest.mark.parametrize(
    "issuer, message",
    [
        (None, "the token names no issuer"),
        ("", "the token names no issuer"),
        ("not-a-key", "issuer is not a valid nkey: public key 'not-a-key' has 9 characters"),
        (ACCOUNT.public_key[:-2] + ("AA" if ACCOUNT.public_key[-2:] != "AA" else "BB"),
         "issuer is not a valid nkey: .* CRC16 checksum"),
    ],
    ids=["missing", "empty", "not-a-key", "checksum"],
)
def test_an_issuer_that_is_not_a_valid_nkey_is_refused(issuer, message):
    claims = dict(GOOD_CLAIMS)
    if issuer is None:
        del claims["iss"]
    else:
        claims["iss"] = issuer
    with pytest.raises(ClaimsError, match="bad issuer: " + message):
        tokens.verify(signed(claims), now=NOW)


def test_a_signature_by_another_key_is_a_bad_signature():
    forged = signed(GOOD_CLAIMS, KeyPair.generate("account"))
    with pytest.raises(ClaimsError, match="bad signature: the signature does not verify "
                       "against " + ACCOUNT.public_key):
        tokens.verify(forged, now=NOW)


def test_altered_claims_are_a_bad_signature():
    header, _, signature = signed(GOOD_CLAIMS).split(".")
    altered = b64(json.dumps({**GOOD_CLAIMS, "sub": "other"}).encode())
    with pytest.raises(ClaimsError, match="bad signature"):
        tokens.verify(".".join([header, altered, signature]), now=NOW)


def test_validity_times_bound_the_token():
    token = signed({**GOOD_CLAIMS, "nbf": NOW, "exp": NOW + 60})
    assert tokens.verify(token, now=NOW)["sub"] == "s"
    assert tokens.verify(token, now=NOW + 59)["sub"] == "s"
    with pytest.raises(ClaimsError, match="not yet valid: valid from 2027-01-15 08:00:00 UTC"):
        tokens.verify(token, now=NOW - 1)
    with pytest.raises(ClaimsError, match="expired: expired at 2027-01-15 08:01:00 UTC"):
        tokens.verify(token, now=NOW + 60)


def test_a_subject_is_required():
    with pytest.raises(ClaimsError, match="malformed token: the token names no subject"):
        tokens.verify(signed({**GOOD_CLAIMS, "sub": ""}), now=NOW)
