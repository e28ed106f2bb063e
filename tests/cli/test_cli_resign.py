"""Re-signing a signed module keeps its identity: the same subject and name unless told."""

from __future__ import annotations

import json

from edgegate.wascap import KeyPair


def _inspect(edgehost, path) -> dict:
    got = edgehost("claims", "inspect", path, "--json")
    assert got.code == 0, got
    return json.loads(got.out)


def test_resigning_keeps_subject_and_name(edgehost, actors, tmp_path):
    module = tmp_path / "echo.wasm"
    module.write_bytes(actors["echo"])
    first = tmp_path / "first.wasm"
    assert edgehost("claims", "sign", module, "-o", first, "--name", "Echo Demo").code == 0
    again = tmp_path / "renamed_file.wasm"
    got = edgehost("claims", "sign", first, "-o", again, "--ver", "0.2.0")
    assert got.code == 0, got
    before, after = _inspect(edgehost, first), _inspect(edgehost, again)
    assert (after["subject"], after["name"], after["version"]) == \
        (before["subject"], "Echo Demo", "0.2.0")


def test_resigning_with_a_subject_given_makes_that_identity(edgehost, actors, tmp_path):
    module = tmp_path / "echo.wasm"
    module.write_bytes(actors["echo"])
    first = tmp_path / "first.wasm"
    assert edgehost("claims", "sign", module, "-o", first).code == 0
    other = KeyPair.generate("module")
    again = tmp_path / "again.wasm"
    got = edgehost("claims", "sign", first, "-o", again, "--subject", other.seed, "--name", "x")
    assert got.code == 0, got
    assert (_inspect(edgehost, again)["subject"], _inspect(edgehost, again)["name"]) == \
        (other.public_key, "x")


def test_resigning_without_the_subjects_seed_is_refused(edgehost, actors, tmp_path, env):
    module = tmp_path / "echo.wasm"
    module.write_bytes(actors["echo"])
    first = tmp_path / "first.wasm"
    assert edgehost("claims", "sign", module, "-o", first).code == 0
    subject = _inspect(edgehost, first)["subject"]
    env["EDGEHOST_KEYS_DIR"] = str(tmp_path / "other-keys")
    got = edgehost("claims", "sign", first, "-o", tmp_path / "again.wasm")
    assert got.code == 1
    assert got.err == (f"edgehost: claims sign {first}: it is signed as {subject}, whose seed is "
                       f"not in the keys folder {tmp_path}/other-keys; give that seed with "
                       f"--subject, or another to make it a new actor\n")
    assert not (tmp_path / "again.wasm").exists()
