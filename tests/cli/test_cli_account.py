"""One signing account per user: `claims sign` and `--dev-sign` sign with the same account,
and the dev_account.nk an earlier edgehost made becomes it."""

from __future__ import annotations

import json

from edgegate.wascap import KeyPair


def _issuer(edgehost, path) -> str:
    got = edgehost("claims", "inspect", path, "--json")
    assert got.code == 0, got
    return json.loads(got.out)["issuer"]


def test_claims_sign_and_dev_sign_use_one_account(edgehost, sim, key_file, actors, tmp_path):
    module = tmp_path / "echo.wasm"
    module.write_bytes(actors["echo"])
    assert edgehost("claims", "sign", module, "-o", tmp_path / "echo_s.wasm").code == 0
    installed = edgehost("board", *sim.board_args, "--key-file", key_file, "install",
                         "--dev-sign", module)
    assert installed.code == 0, installed
    keys = tmp_path / "keys"
    assert f"using the account key in {keys}/default_account.nk" in installed.err
    assert sorted(p.name for p in keys.glob("*_account.nk")) == ["default_account.nk"]


def test_a_dev_account_made_before_becomes_the_signing_account(edgehost, actors, tmp_path):
    keys = tmp_path / "keys"
    keys.mkdir()
    account = KeyPair.generate("account")
    (keys / "dev_account.nk").write_text(account.seed + "\n")
    module = tmp_path / "echo.wasm"
    module.write_bytes(actors["echo"])
    signed = edgehost("claims", "sign", module, "-o", tmp_path / "echo_s.wasm")
    assert signed.code == 0, signed
    assert _issuer(edgehost, tmp_path / "echo_s.wasm") == account.public_key
    assert f"{keys}/dev_account.nk is now {keys}/default_account.nk" in signed.err
    assert [p.name for p in keys.glob("*_account.nk")] == ["default_account.nk"]
