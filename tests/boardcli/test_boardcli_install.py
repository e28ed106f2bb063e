"""`edgehost board install`: signed modules only, the board's refusals shown, nothing sent twice."""

from __future__ import annotations

import os
import select
import subprocess

import pytest
from support.commands import COMMAND_TIMEOUT, EDGEHOST

from edgegate.wascap import ActorMetadata, KeyPair, sign_module


def test_install_and_call_over_a_pty(start_sim, board, signed):
    sim = start_sim(tcp=False)
    assert sim.where.startswith("/dev/")
    module, key = signed("echo")

    installed = board(sim, "install", module)
    assert installed.code == 0, installed
    assert installed.out == f"installed {key} (echo) on board sim\n"

    answer = board(sim, "call", "echo", "Echo", "over a pty")
    assert (answer.code, answer.out_bytes) == (0, b"over a pty"), answer


def test_a_restarted_simulator_still_has_the_actor_and_nothing_is_uploaded_again(
        start_sim, board, signed):
    module, key = signed("echo")
    first = start_sim()
    assert board(first, "install", module).code == 0
    first.stop()

    second = start_sim()  # same flash folder
    again = board(second, "install", module)
    assert again.code == 0, again
    assert again.out.startswith(f"{key} (echo) is already installed on board sim")
    assert again.out.endswith("nothing uploaded\n")
    answer = board(second, "call", key, "Echo", "remembered")
    assert answer.out_bytes == b"remembered", answer
    assert "installed actor" not in second.stderr  # the board was sent no module


def test_a_module_over_the_boards_page_budget_is_refused_before_any_byte_is_sent(
        start_sim, board, signed):
    sim = start_sim("--profile", "esp32-c3-devkitm-1")
    module, key = signed("big_memory")
    refused = board(sim, "install", module)
    assert refused.code == 1, refused
    assert refused.out == ""
    assert refused.err == (f"edgehost: board sim (profile esp32-c3-devkitm-1) cannot take "
                           f"{module}: memory: declares 17 memory pages (1088 KiB), above the "
                           f"budget of 2 pages (128 KiB); nothing was uploaded (see `edgehost "
                           f"board fit`)\n")
    assert "install" not in sim.stderr  # the board never saw the request
    assert key not in board(sim, "info").out


def test_an_unsigned_module_is_refused_without_dev_sign(start_sim, board, unsigned):
    sim = start_sim()
    module = unsigned("echo")
    refused = board(sim, "install", module)
    assert (refused.code, refused.out) == (1, "")
    assert refused.err == (f"edgehost: install {module}: {module} has no claims; sign it with "
                           "`edgehost claims sign` or use --dev-sign\n")
    assert "Actors       none" in board(sim, "info").out


def test_dev_sign_signs_with_a_development_key_kept_in_the_keys_folder(
        start_sim, board, unsigned, keys_dir):
    sim = start_sim()
    module = unsigned("echo")
    first = board(sim, "install", "--dev-sign", module)
    assert first.code == 0, first
    account = keys_dir / "default_account.nk"  # the one account that signs for the user
    assert "generated a new account key A" in first.err and str(account) in first.err
    assert str(keys_dir / "echo_module.nk") in first.err
    key = KeyPair.from_seed((keys_dir / "echo_module.nk").read_text()).public_key
    assert first.out == f"installed {key} (echo) on board sim\n"
    assert board(sim, "call", "echo", "Echo", "signed on the fly").out == "signed on the fly"

    # signing again makes new claims (a new time and id): the board swaps the module
    second = board(sim, "install", "--dev-sign", module)
    assert second.code == 0, second
    assert f"using the account key in {account}" in second.err
    assert second.out.startswith(f"replaced {key} (echo) on board sim")


def test_a_new_module_of_an_installed_actor_replaces_the_old_one(start_sim, board, actors,
                                                                 tmp_path):
    account, subject = KeyPair.generate("account"), KeyPair.generate("module")
    echo, shout = tmp_path / "echo_s.wasm", tmp_path / "shout_s.wasm"
    for path, name in ((echo, "echo"), (shout, "shout")):
        path.write_bytes(sign_module(actors[name], account, subject,
                                     ActorMetadata(name, call_alias="loud")))
    sim = start_sim()
    assert board(sim, "install", echo).code == 0
    replaced = board(sim, "install", shout)
    assert replaced.code == 0, replaced
    assert replaced.out.startswith(f"replaced {subject.public_key} (shout) on board sim")
    assert board(sim, "call", "loud", "Echo", "quiet please").out == "QUIET PLEASE"


def test_modules_whose_claims_fail_are_refused_before_the_board_is_asked(
        start_sim, board, signed, actors, tmp_path):
    sim = start_sim()
    expired = tmp_path / "expired.wasm"
    expired.write_bytes(sign_module(actors["echo"], KeyPair.generate("account"),
                                    KeyPair.generate("module"), ActorMetadata("echo"),
                                    expires_in=60, now=1_000_000_000))
    signed_echo, _ = signed("echo")
    claims_section = signed_echo.read_bytes()[len(actors["echo"]):]
    mismatch = tmp_path / "mismatch.wasm"
    mismatch.write_bytes(actors["shout"] + claims_section)  # echo's claims on shout
    not_wasm = tmp_path / "notes.wasm"
    not_wasm.write_text("not a module")

    cases = [(expired, "expired: expired at 2001-09-09"),
             (mismatch, "hash mismatch: module "),
             (not_wasm, "not a WebAssembly module"),
             (tmp_path / "absent.wasm", "cannot read it (No such file or directory)")]
    for path, reason in cases:
        refused = board(sim, "install", path)
        assert (refused.code, refused.out) == (1, ""), refused
        assert refused.err.startswith(f"edgehost: install {path}: "), refused
        assert reason in refused.err and refused.err.count("\n") == 1, refused
    assert "Actors       none" in board(sim, "info").out


def test_the_upload_shows_a_progress_bar_on_a_terminal(start_sim, key_file, signed):
    sim = start_sim()
    module, key = signed("grow")
    parent, child = os.openpty()
    try:
        process = subprocess.Popen(
            [EDGEHOST, "board", *sim.board_args, "--key-file", str(key_file), "install",
             str(module)], stdout=subprocess.PIPE, stderr=child, stdin=subprocess.DEVNULL)
        os.close(child)
        child = -1
        stdout, _ = process.communicate(timeout=COMMAND_TIMEOUT)
        shown = b""
        while select.select([parent], [], [], 0)[0]:
            try:
                data = os.read(parent, 4096)
            except OSError:  # the terminal's other end is closed: all was read
                break
            if not data:
                break
            shown += data
    finally:
        os.close(parent)
        if child >= 0:
            os.close(child)
    assert process.returncode == 0
    assert stdout.decode() == f"installed {key} (grow) on board sim\n"
    assert f"uploading {module.name} ({module.stat().st_size:,} bytes)".encode() in shown
    assert b"bytes on the wire" in shown


def test_dev_sign_grants_the_capabilities_asked_for(start_sim, board, unsigned):
    sim = start_sim()
    module = unsigned("hostcall")
    assert board(sim, "install", "--dev-sign", "--cap", "example:relay", module).code == 0
    # the capability lets the host call leave the board, where no lattice answers it
    relayed = board(sim, "call", "hostcall", "Relay", "ping")
    assert relayed.code == 1
    assert "no lattice connected" in relayed.err and "lack" not in relayed.err


def test_dev_sign_without_a_capability_is_refused_by_the_board_check(start_sim, board, unsigned):
    sim = start_sim()
    module = unsigned("hostcall")
    assert board(sim, "install", "--dev-sign", module).code == 0
    refused = board(sim, "call", "hostcall", "Relay", "ping")
    assert refused.code == 1
    assert "is not allowed to call example:relay: its claims lack that capability" in refused.err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--cap", "example:relay"], "--cap only applies with --dev-sign"),
        (["--dev-sign", "--cap", "relay"], "--cap 'relay': a capability is a contract id"),
    ],
)
def test_bad_cap_options_are_refused_before_anything_is_sent(start_sim, board, unsigned,
                                                            argv, message):
    sim = start_sim()
    refused = board(sim, "install", *argv, unsigned("hostcall"))
    assert refused.code == 1 and message in refused.err
    assert "Actors       none" in board(sim, "info").out
