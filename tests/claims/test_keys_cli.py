"""`edgehost keys gen` and `edgehost keys get`."""

from __future__ import annotations

import stat

import nkeys
import pytest

LETTERS = {"account": "A", "cluster": "C", "module": "M", "server": "N", "operator": "O",
           "user": "U", "provider": "V"}


def fields(text: str) -> dict[str, str]:
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


@pytest.mark.parametrize("kind", sorted(LETTERS))
def test_keys_gen_prints_a_seed_whose_public_key_keys_get_gives_back(edgehost, kind):
    made = edgehost("keys", "gen", kind)
    assert made.code == 0
    shown = {k.strip(): v.strip() for k, v in fields(made.out).items()}
    public_key, seed = shown["Public key"], shown["Seed"]
    assert public_key[0] == LETTERS[kind] and len(public_key) == 56
    assert seed.startswith("S" + LETTERS[kind]) and len(seed) == 58

    got = edgehost("keys", "get", seed)
    assert (got.code, got.out) == (0, public_key + "\n")


def test_keys_gen_writes_the_seed_to_a_file_only_its_owner_can_read(edgehost, tmp_path):
    path = tmp_path / "out" / "ops.nk"
    path.parent.mkdir()
    made = edgehost("keys", "gen", "account", "-o", path)
    assert made.code == 0
    assert f"Seed written to {path} (mode 0600)" in made.out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    seed = path.read_text().strip()
    assert seed not in made.out
    public_key = made.out.split("Public key:")[1].split()[0]
    assert nkeys.from_seed(seed.encode()).public_key.decode() == public_key
    assert edgehost("keys", "get", path).out == public_key + "\n"


def test_keys_gen_never_overwrites_a_seed_file(edgehost, tmp_path):
    path = tmp_path / "kept.nk"
    path.write_text("precious\n")
    made = edgehost("keys", "gen", "module", "-o", path)
    assert made.code == 1
    assert made.err == f"edgehost: keys gen: {path} exists; a seed file is never overwritten\n"
    assert path.read_text() == "precious\n"


@pytest.mark.parametrize(
    "argument, message",
    [
        ("no-such-file", "'no-such-file' is neither a seed nor a readable seed file "
                         "(No such file or directory)"),
        ("S" + "A" * 57, "fails its CRC16 checksum"),
    ],
    ids=["missing-file", "bad-seed"],
)
def test_keys_get_refuses_what_is_not_a_seed_in_one_line(edgehost, argument, message):
    got = edgehost("keys", "get", argument)
    assert got.code == 1 and got.out == ""
    assert got.err.startswith("edgehost: keys get: ") and message in got.err
    assert got.err.count("\n") == 1


def test_keys_get_reads_a_file_holding_something_else(edgehost, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    got = edgehost("keys", "get", path)
    assert got.code == 1
    assert got.err == "edgehost: keys get: seed 'hello' has 5 characters, not 58\n"


def test_an_unknown_key_kind_is_a_usage_error(edgehost):
    got = edgehost("keys", "gen", "actor")
    assert got.code == 2
    assert "invalid choice: 'actor'" in got.err and got.err.count("\n") == 1
