"""`edgehost board` as a user meets it: link options before or after the action, EDGEHOST_*
variables, `ping`, the actors table, --json results, debug lines only with -v."""

from __future__ import annotations

import json
import time

import pytest
from cli_paths import COMMAND_TIMEOUT

from edgegate.devices.simprocess import SimProcess


@pytest.mark.parametrize("where", ["before", "after"])
def test_link_options_go_before_or_after_the_action(edgehost, sim, key_file, where):
    link = [*sim.board_args, "--key-file", str(key_file)]
    argv = ["board", *link, "info"] if where == "before" else ["board", "info", *link]
    got = edgehost(*argv)
    assert got.code == 0, got
    assert got.out.startswith(f"Board        sim at {sim.where}\n")


def test_the_board_and_key_file_come_from_the_environment(edgehost, env, sim, key_file):
    env["EDGEHOST_TCP"] = sim.where.removeprefix("tcp://")
    env["EDGEHOST_KEY_FILE"] = str(key_file)
    got = edgehost("board", "ping")
    assert got.code == 0, got
    assert got.out.startswith(f"board sim at {sim.where} answers: firmware edgehost-board ")


def test_an_option_beats_the_environment(edgehost, env, sim, key_file):
    env["EDGEHOST_PORT"] = "/dev/nonexistent-board"
    got = edgehost("board", "ping", *sim.board_args, "--key-file", key_file, "--json")
    assert got.code == 0, got
    answer = json.loads(got.out)
    assert (answer["board"], answer["where"], answer["actors"]) == ("sim", sim.where, 0)


def test_no_board_named_is_a_usage_error(edgehost, key_file):
    got = edgehost("board", "info", "--key-file", key_file)
    assert got.code == 2
    assert got.err == ("edgehost: board info: needs the board: --port PATH|URL, --tcp "
                       "HOST:PORT or --nats URL (or EDGEHOST_PORT, EDGEHOST_TCP, EDGEHOST_NATS) "
                       "(see edgehost --help)\n")


def test_two_places_are_a_usage_error(edgehost, key_file):
    got = edgehost("board", "--tcp", "127.0.0.1:1", "info", "--port", "/dev/x", "--key-file",
                   key_file)
    assert got.code == 2 and "--port and --tcp both say where the board is" in got.err


def test_no_key_file_is_a_usage_error(edgehost):
    got = edgehost("board", "info", "--tcp", "127.0.0.1:1")
    assert got.code == 2
    assert got.err.startswith("edgehost: board info: needs --key-file FILE (the board's id "
                              "and pairing key; or EDGEHOST_KEY_FILE)")


def test_install_and_remove_report_json(edgehost, sim, key_file, signed_echo):
    link = [*sim.board_args, "--key-file", key_file]
    installed = json.loads(edgehost("board", *link, "install", signed_echo, "--json").out)
    assert (installed["board"], installed["name"], installed["result"]) == \
        ("sim", "echo", "installed")
    again = json.loads(edgehost("board", *link, "install", signed_echo, "--json").out)
    assert again["result"] == "unchanged"
    info = json.loads(edgehost("board", *link, "info", "--json").out)
    assert [(a["key"], a["alias"]) for a in info["actors"]] == [(installed["actor"], "echo")]
    removed = json.loads(edgehost("board", *link, "remove", "echo", "--json").out)
    assert removed == {"board": "sim", "actor": installed["actor"], "result": "removed"}


def _sim_stderr_after_an_oversize_call(edgehost, tmp_path, key_file, signed_echo, *flags):
    process = SimProcess(["--tcp", "127.0.0.1:0", "--key-file", str(key_file), *flags],
                         tmp_path / "sim.err")
    try:
        link = ["board", "--tcp", process.where.removeprefix("tcp://"), "--key-file", key_file]
        assert edgehost(*link, "install", signed_echo).code == 0
        big = tmp_path / "big"
        big.write_bytes(b"x" * 1_000_000)  # over any profile's max_payload
        assert edgehost(*link, "call", "echo", "Echo", "--file", big).code == 1
        # the board logs the dropped chunks, then that the command hung up
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while process.stderr.count("the gateway closed") < 2:
            assert time.monotonic() < deadline, process.stderr
            time.sleep(0.05)
        return process.stderr
    finally:
        process.stop()


def test_link_debug_lines_show_only_with_v(edgehost, tmp_path, key_file, signed_echo):
    plain = _sim_stderr_after_an_oversize_call(edgehost, tmp_path, key_file, signed_echo)
    assert "[debug]" not in plain and "[info] installed actor" in plain
    loud = _sim_stderr_after_an_oversize_call(edgehost, tmp_path, key_file, signed_echo, "-v")
    assert "[debug] edgelink: dropped a frame" in loud
