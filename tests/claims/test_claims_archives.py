"""Provider archives (.par, .par.gz): inspect shows the provider claims and checks each binary."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

import pytest

from edgegate.wascap import KeyPair, tokens

ISSUER = KeyPair.generate("account")
PROVIDER = KeyPair.generate("provider")
BINARIES = {"x86_64-linux": b"\x7fELF linux binary", "aarch64-macos": b"\xcf\xfa\xed\xfe mac"}


def provider_token(target_hashes: dict[str, str], **extra) -> str:
    claims = {"jti": tokens.new_jti(), "iat": 1_700_000_000, "iss": ISSUER.public_key,
              "sub": PROVIDER.public_key,
              "wascap": {"name": "HTTP Server", "capid": "wasmcloud:httpserver",
                         "vendor": "wasmCloud", "rev": 2, "ver": "0.17.0",
                         "target_hashes": target_hashes, "config_schema": None},
              **extra}
    return tokens.encode(claims, ISSUER)


def archive(members: dict[str, bytes], compress: bool = False) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    data = buffer.getvalue()
    return gzip.compress(data) if compress else data


def honest_members() -> dict[str, bytes]:
    hashes = {t: hashlib.sha256(b).hexdigest().upper() for t, b in BINARIES.items()}
    members = {"claims.jwt": provider_token(hashes).encode()}
    members.update({f"{t}.bin": b for t, b in BINARIES.items()})
    return members


@pytest.mark.parametrize("suffix, compress", [(".par", False), (".par.gz", True)])
def test_inspect_shows_provider_claims_and_checks_every_target(edgehost, tmp_path, suffix,
                                                                 compress):
    path = tmp_path / ("httpserver" + suffix)
    path.write_bytes(archive(honest_members(), compress))
    shown = edgehost("claims", "inspect", path)
    assert shown.code == 0, shown.err
    lines = shown.out.splitlines()
    assert f"Provider      {PROVIDER.public_key}" in lines
    assert f"Account       {ISSUER.public_key}" in lines
    assert "Contract id   wasmcloud:httpserver" in lines and "Vendor        wasmCloud" in lines
    assert "Name          HTTP Server" in lines and "Version       0.17.0" in lines
    for target, binary in BINARIES.items():
        digest = hashlib.sha256(binary).hexdigest().upper()
        assert f"  {target:<22}{digest}  ok" in lines

    summary = json.loads(edgehost("claims", "inspect", "--json", path).out)
    assert summary["contract_id"] == "wasmcloud:httpserver" and summary["hashes_match"]
    assert summary["claims"]["wascap"]["target_hashes"] == {
        t: hashlib.sha256(b).hexdigest().upper() for t, b in BINARIES.items()}
    assert edgehost("claims", "verify", path).code == 0


def test_a_replaced_binary_is_reported_with_both_hashes(edgehost, tmp_path):
    members = honest_members()
    members["x86_64-linux.bin"] = b"something else"
    path = tmp_path / "bad.par.gz"
    path.write_bytes(archive(members, compress=True))
    shown = edgehost("claims", "inspect", path)
    assert shown.code == 1
    actual = hashlib.sha256(b"something else").hexdigest().upper()
    claimed = hashlib.sha256(BINARIES["x86_64-linux"]).hexdigest().upper()
    assert f"  x86_64-linux          {actual}  MISMATCH: the claims say {claimed}" in shown.out
    got = edgehost("claims", "verify", path)
    assert got.code == 1
    assert got.err == (f"edgehost: claims verify {path}: hash mismatch: target x86_64-linux: "
                       f"binary {actual} vs claims {claimed}\n")


def test_missing_and_unclaimed_binaries_are_reported(edgehost, tmp_path):
    members = honest_members()
    del members["aarch64-macos.bin"]
    members["armv7-linux.bin"] = b"extra"
    path = tmp_path / "odd.par"
    path.write_bytes(archive(members))
    shown = edgehost("claims", "inspect", path)
    assert shown.code == 1
    assert "  aarch64-macos         -  MISSING: no binary in the archive" in shown.out
    assert "NOT IN CLAIMS" in shown.out.split("armv7-linux")[1].splitlines()[0]


@pytest.mark.parametrize(
    "data, message",
    [
        (archive({"x86_64-linux.bin": b"x"}), "no claims: the archive has no claims.jwt"),
        (archive({"claims.jwt": b"garbage"}), "malformed token: a JWT has 3 dot-separated"),
        (gzip.compress(b"not a tar at all")[:-8] + b"\0" * 3, "the provider archive is truncated"),
        (b"plain text, not a tar", "not a readable provider archive (a tar, optionally gzip"),
        (archive({"claims.jwt": b"\xff\xfe"}), "malformed token: claims.jwt is not UTF-8 text"),
        (archive({"claims.jwt": provider_token({"x86_64-linux": 42}).encode()}),
         "malformed token: target_hashes['x86_64-linux'] is 42, not hex"),
    ],
    ids=["no-claims", "garbage-claims", "truncated-gzip", "not-a-tar", "binary-claims",
         "hash-not-text"],
)
def test_bad_archives_get_one_line(edgehost, tmp_path, data, message):
    path = tmp_path / "broken.par.gz"
    path.write_bytes(data)
    got = edgehost("claims", "inspect", path)
    assert got.code == 1 and got.out == ""
    assert got.err.startswith(f"edgehost: claims inspect {path}: ") and message in got.err
    assert got.err.count("\n") == 1
