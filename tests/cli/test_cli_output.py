"""What every command prints: no traceback when the reader goes, usage errors exit 2, --version,
--quiet, --json results."""

from __future__ import annotations

import json

import pytest

from edgegate.wascap import KeyPair

SEED = KeyPair.generate("account").seed


PRINTING = {
    "keys gen": ["keys", "gen", "account"],
    "keys get": ["keys", "get", SEED],
    "claims inspect": ["claims", "inspect", "{module}"],
    "claims inspect --json": ["claims", "inspect", "--json", "{module}"],
    "claims verify": ["claims", "verify", "{module}"],
    "claims sign": ["claims", "sign", "-q", "{raw}", "-o", "{tmp}/again.wasm"],
}


@pytest.mark.parametrize("argv", PRINTING.values(), ids=PRINTING.keys())
def test_a_reader_that_closes_the_pipe_gets_no_traceback(edgehost, signed_echo, actors, tmp_path,
                                                         argv):
    # `edgehost claims inspect X | true`: the output meets a closed pipe
    raw = tmp_path / "echo.wasm"
    raw.write_bytes(actors["echo"])
    line = [a.format(module=signed_echo, raw=raw, tmp=tmp_path) for a in argv]
    got = edgehost(*line, closed_stdout=True)
    assert "Traceback" not in got.err and got.err == ""
    assert got.code == 141  # as a shell reports a writer ended by SIGPIPE


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_into_a_closed_pipe_are_quiet(edgehost, flag):
    got = edgehost(flag, closed_stdout=True)
    assert (got.code, got.err) == (0, "")  # argparse's own exit; nothing was left unsaid


def test_board_info_into_a_closed_pipe_is_quiet(edgehost, sim, key_file):
    got = edgehost("board", *sim.board_args, "--key-file", key_file, "info", closed_stdout=True)
    assert (got.code, got.err) == (141, "")


def test_usage_errors_exit_2_and_bad_input_exits_1(edgehost, tmp_path):
    usage = edgehost("claims", "inspect")
    assert usage.code == 2 and usage.err.count("\n") == 1 and "required: module" in usage.err
    bad = edgehost("claims", "inspect", tmp_path / "missing.wasm")
    assert bad.code == 1


def test_version_is_the_package_version(edgehost):
    from importlib.metadata import version

    got = edgehost("--version")
    assert (got.code, got.out) == (0, f"edgehost {version('edgehost')}\n")


def test_quiet_drops_the_notes_but_not_the_result(edgehost, actors, tmp_path):
    module = tmp_path / "echo.wasm"
    module.write_bytes(actors["echo"])
    loud = edgehost("claims", "sign", module, "-o", tmp_path / "a.wasm")
    assert loud.code == 0 and "generated a new account key" in loud.err
    quiet = edgehost("claims", "sign", "-q", module, "-o", tmp_path / "b.wasm")
    assert quiet.code == 0 and quiet.err == "" and "signed module" in quiet.out
    before = edgehost("-q", "keys", "gen", "user")
    assert before.code == 0 and before.out.startswith("Public key: U")


JSON_REPORTS = {
    "keys gen": (["keys", "gen", "account", "--json"], "public_key"),
    "keys get": (["keys", "get", SEED, "--json"], "public_key"),
    "claims verify": (["claims", "verify", "{module}", "--json"], "subject"),
    "claims inspect": (["claims", "inspect", "{module}", "--json"], "subject"),
    "claims sign": (["claims", "sign", "{raw}", "-o", "{tmp}/s.wasm", "--json"], "subject"),
}


@pytest.mark.parametrize(("argv", "field"), JSON_REPORTS.values(), ids=JSON_REPORTS.keys())
def test_every_reporting_command_has_json(edgehost, signed_echo, actors, tmp_path, argv, field):
    raw = tmp_path / "echo.wasm"
    raw.write_bytes(actors["echo"])
    got = edgehost(*[a.format(module=signed_echo, raw=raw, tmp=tmp_path) for a in argv])
    assert got.code == 0, got
    assert field in json.loads(got.out)
