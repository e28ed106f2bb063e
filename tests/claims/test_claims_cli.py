"""`edgehost claims verify | inspect | sign` on modules, as a user runs them."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime

import jwt
import nkeys
import pytest
from test_claims_modules import BAD_NAMES, bad_modules
from wasm_records import claims_payloads, records

from edgecli.claimcmds import parse_duration
from edgegate.wascap import ActorMetadata, KeyPair, sign_module


@pytest.fixture
def echo(tmp_path, actors):
    path = tmp_path / "echo.wasm"
    path.write_bytes(actors["echo"])
    return path


@pytest.fixture
def account_seed(tmp_path):
    """An issuer seed made by the nkeys package itself, in a file."""
    path = tmp_path / "issuer.nk"
    path.write_bytes(nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_ACCOUNT) + b"\n")
    return path


def test_sign_then_verify_and_inspect_show_what_was_signed(edgehost, echo, account_seed, tmp_path):
    out = tmp_path / "signed.wasm"
    subject = KeyPair.generate("module")
    signed = edgehost("claims", "sign", echo, "-o", out, "--name", "Echo", "--cap",
                      "wasmcloud:httpserver", "--cap", "wasmcloud:builtin:logging", "--tag",
                      "demo", "--tag", "board", "--rev", "4", "--ver", "0.4.0", "--call-alias",
                      "echoer", "--expires-in", "30d", "--issuer", account_seed, "--subject",
                      subject.seed)
    assert signed.code == 0, signed.err
    issuer = nkeys.from_seed(account_seed.read_bytes().strip()).public_key.decode()
    assert signed.out == f"{out}: signed module {subject.public_key}, issuer {issuer}\n"

    verified = edgehost("claims", "verify", out)
    assert verified.code == 0
    assert verified.out.startswith(f"{out}: claims valid: module {subject.public_key}")

    shown = edgehost("claims", "inspect", out)
    assert shown.code == 0
    lines = {line[:14].strip(): line[14:] for line in shown.out.splitlines()}
    assert lines["Module"] == subject.public_key and lines["Account"] == issuer
    assert lines["Name"] == "Echo"
    assert lines["Capabilities"] == "wasmcloud:httpserver, wasmcloud:builtin:logging"
    assert lines["Tags"] == "demo, board"
    assert (lines["Revision"], lines["Version"], lines["Call alias"]) == ("4", "0.4.0", "echoer")
    assert lines["Not before"] == "immediately"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in 30 days\)", lines["Expires"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(.*\)", lines["Issued"])
    assert lines["Module hash"].endswith("(matches the claims)")


def test_inspect_json_is_one_object_with_the_raw_claims(edgehost, echo, account_seed, tmp_path):
    out = tmp_path / "signed.wasm"
    edgehost("claims", "sign", echo, "-o", out, "--issuer", account_seed, "--cap",
             "wasmcloud:keyvalue", "--not-before", "1h")
    shown = edgehost("claims", "inspect", "--json", out)
    assert shown.code == 0
    summary = json.loads(shown.out)
    claims = summary["claims"]
    assert claims == jwt.decode(claims_payloads(out.read_bytes())[0],
                                options={"verify_signature": False})
    assert summary["subject"] == claims["sub"] and summary["issuer"] == claims["iss"]
    assert summary["name"] == "echo"  # the file's name when --name is not given
    assert summary["capabilities"] == ["wasmcloud:keyvalue"] and summary["tags"] == []
    assert summary["revision"] is None and summary["call_alias"] is None
    # dates as ISO 8601 in UTC, for a program to read; none where the claims set none
    assert summary["not_before"] == datetime.fromtimestamp(claims["nbf"], UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    assert summary["issued"].endswith("Z") and summary["expires"] is None
    assert summary["module_hash"] == claims["wascap"]["hash"] and summary["hash_matches"]


def test_a_module_signed_here_checks_out_with_pyjwt_and_nkeys(edgehost, echo, account_seed,
                                                               tmp_path, actors):
    out = tmp_path / "signed.wasm"
    assert edgehost("claims", "sign", echo, "-o", out, "--issuer", account_seed).code == 0
    data = out.read_bytes()
    [token] = claims_payloads(data)
    token = token.decode()
    assert jwt.get_unverified_header(token) == {"typ": "jwt", "alg": "Ed25519"}
    claims = jwt.decode(token, options={"verify_signature": False})
    issuer = nkeys.from_seed(account_seed.read_bytes().strip())
    assert claims["iss"] == issuer.public_key.decode()
    signing_input, _, signature = token.rpartition(".")
    assert issuer.verify(signing_input.encode(), base64.urlsafe_b64decode(signature + "=="))
    # The hash is that of the module without the claims record, cut out by hand here.
    [(_, _, start, _, end)] = [r for r in records(data) if r[1] == "jwt"]
    assert claims["wascap"]["hash"] == hashlib.sha256(data[:start] + data[end:]).hexdigest().upper()
    assert data[:start] + data[end:] == actors["echo"]


def test_sign_makes_missing_keys_and_says_where(edgehost, echo, keys_dir, tmp_path):
    first = edgehost("claims", "sign", echo, "-o", tmp_path / "one.wasm")
    assert first.code == 0
    account, module = keys_dir / "default_account.nk", keys_dir / "echo_module.nk"
    assert f"its seed is saved in {account}" in first.err
    assert f"its seed is saved in {module}" in first.err
    for path in (account, module):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    subject = KeyPair.from_seed(module.read_text()).public_key
    assert f"signed module {subject}" in first.out

    again = edgehost("claims", "sign", tmp_path / "one.wasm")  # default output one_s.wasm
    assert again.code == 0
    assert f"using the account key in {account}" in again.err
    assert (tmp_path / "one_s.wasm").exists()


def test_resigning_through_the_command_keeps_one_claims_section(edgehost, echo, account_seed,
                                                                 tmp_path):
    once, twice = tmp_path / "once.wasm", tmp_path / "twice.wasm"
    edgehost("claims", "sign", echo, "-o", once, "--issuer", account_seed, "--name", "one")
    edgehost("claims", "sign", once, "-o", twice, "--issuer", account_seed, "--name", "two")
    assert len(claims_payloads(twice.read_bytes())) == 1
    assert json.loads(edgehost("claims", "inspect", "--json", twice).out)["name"] == "two"
    assert edgehost("claims", "verify", twice).code == 0


def test_verify_names_the_failed_check(edgehost, echo, account_seed, tmp_path, actors):
    late = tmp_path / "late.wasm"
    edgehost("claims", "sign", echo, "-o", late, "--issuer", account_seed, "--not-before", "1d")
    got = edgehost("claims", "verify", late)
    assert got.code == 1
    assert got.err.startswith(f"edgehost: claims verify {late}: not yet valid: valid from ")

    old = tmp_path / "old.wasm"
    issuer = KeyPair.from_seed(account_seed.read_text())
    old.write_bytes(sign_module(actors["echo"], issuer, KeyPair.generate("module"),
                                ActorMetadata("old"), expires_in=86400,
                                now=int(time.time()) - 10 * 86400))
    got = edgehost("claims", "verify", old)
    assert got.code == 1 and got.err.startswith(f"edgehost: claims verify {old}: expired: ")

    good = tmp_path / "good.wasm"
    edgehost("claims", "sign", echo, "-o", good, "--issuer", account_seed)
    changed = tmp_path / "changed.wasm"
    data = bytearray(good.read_bytes())
    code_end = next(r[4] for r in records(bytes(data)) if r[0] == 10)
    data[code_end - 2] ^= 0xFF
    changed.write_bytes(bytes(data))
    got = edgehost("claims", "verify", changed)
    assert got.code == 1
    claimed = json.loads(edgehost("claims", "inspect", "--json", late).out)["module_hash"]
    assert ": hash mismatch: module " in got.err and got.err.endswith(f" vs claims {claimed}\n")
    shown = edgehost("claims", "inspect", changed)
    assert shown.code == 1 and f"(the claims say {claimed})" in shown.out


@pytest.mark.parametrize("case", BAD_NAMES)
def test_bad_modules_get_one_line_naming_the_file_and_the_fault(edgehost, tmp_path, actors, case):
    data, _, message = bad_modules(actors["echo"])[case]
    path = tmp_path / f"{case}.wasm"
    path.write_bytes(data)
    got = edgehost("claims", "verify", path)
    assert got.code == 1 and got.out == ""
    assert got.err.count("\n") == 1
    assert got.err.startswith(f"edgehost: claims verify {path}: ")
    assert re.search(message, got.err)


def test_no_traceback_reaches_the_user_from_the_installed_command(tmp_path):
    path = tmp_path / "notes.wasm"
    path.write_text("just text")
    done = subprocess.run([sys.executable, "-m", "edgecli.main", "claims", "inspect", path],
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr == (f"edgehost: claims inspect {path}: not a WebAssembly module: "
                           "it does not start with \\0asm\n")


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--cap", "http server"], "--cap 'http server': a capability is a contract id like "
                                   "wasmcloud:httpserver"),
        (["--expires-in", "3x"], "--expires-in '3x': not a duration like 30d"),
        (["--not-before", "soon"], "--not-before 'soon': not a duration"),
        (["--rev", "-1"], "--rev -1: a revision is a whole number from 0 up"),
        (["--issuer", "nope"], "--issuer: 'nope' is neither a seed nor a readable seed file"),
        (["--issuer", KeyPair.generate("user").seed],
         "the issuer must be an account key, not a user key"),
        (["--subject", KeyPair.generate("account").seed],
         "the subject must be a module key, not a account key"),
    ],
    ids=["cap", "expires-in", "not-before", "rev", "issuer-missing", "issuer-kind",
         "subject-kind"],
)
def test_sign_refuses_bad_options_in_one_line(edgehost, echo, tmp_path, arguments, message):
    out = tmp_path / "out.wasm"
    got = edgehost("claims", "sign", echo, "-o", out, *arguments)
    assert got.code == 1 and message in got.err
    assert [line for line in got.err.splitlines() if line.startswith("edgehost: claims sign")]
    assert not out.exists()


def test_sign_refuses_a_module_that_is_not_wasm_before_making_keys(edgehost, tmp_path, keys_dir):
    path = tmp_path / "x.wasm"
    path.write_bytes(b"\x00asm\x01\x00\x00\x00\x01\x09\x00")
    got = edgehost("claims", "sign", path)
    assert got.code == 1
    assert got.err == (f"edgehost: claims sign {path}: section 1 at offset 8: size 9 runs past "
                       "the end of the module (11 bytes)\n")
    assert not keys_dir.exists()


@pytest.mark.parametrize("text, seconds", [("30d", 30 * 86400), ("1h", 3600), ("90m", 5400),
                                           ("45s", 45), ("2w", 14 * 86400), ("1h30m", 5400)])
def test_human_durations(text, seconds):
    assert parse_duration(text, "--expires-in") == seconds
