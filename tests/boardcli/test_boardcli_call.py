"""`edgehost board call`: the answer's raw bytes on stdout, or the board's error on stderr."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from support.commands import COMMAND_TIMEOUT, EDGEHOST


@pytest.fixture
def echo_board(start_sim, board, signed):
    """A simulator with the echo actor (call alias `echoer`); returns (sim, actor key)."""
    sim = start_sim()
    module, key = signed("echo", call_alias="echoer")
    assert board(sim, "install", module).code == 0
    return sim, key


def test_the_answer_is_written_raw_without_a_newline(echo_board, board, tmp_path):
    sim, key = echo_board
    payload = bytes(range(256)) * 3  # not text, and more than one frame
    source = tmp_path / "payload.bin"
    source.write_bytes(payload)
    answer = board(sim, "call", key, "Echo", "--file", source)
    assert (answer.code, answer.out_bytes, answer.err) == (0, payload, "")


def test_an_actor_is_found_by_key_call_alias_or_name(echo_board, board):
    sim, key = echo_board
    for actor in (key, "echoer", "echo"):
        answer = board(sim, "call", actor, "Echo", f"to {actor}")
        assert answer.out == f"to {actor}", answer


def test_msgpack_json_sends_json_as_msgpack_and_prints_the_answer_as_json(echo_board, board):
    sim, _ = echo_board
    value = {"name": "board", "sizes": [1, 2.5, -3], "ok": True, "none": None}
    answer = board(sim, "call", "echoer", "Echo", json.dumps(value), "--msgpack-json")
    assert answer.code == 0, answer
    assert answer.out.endswith("\n") and json.loads(answer.out) == value


def test_an_answer_that_is_not_msgpack_is_an_error_with_msgpack_json(start_sim, board, signed):
    sim = start_sim()
    module, _ = signed("startup_order")
    assert board(sim, "install", module).code == 0
    answer = board(sim, "call", "startup_order", "Started", "--msgpack-json")
    assert (answer.code, answer.out) == (1, ""), answer
    assert answer.err.startswith("edgehost: board sim: startup_order Started: the answer (")
    assert "is not msgpack" in answer.err and answer.err.count("\n") == 1


def test_the_boards_errors_go_to_stderr_with_exit_status_1(start_sim, board, signed):
    sim = start_sim()
    module, key = signed("faults")
    assert board(sim, "install", module).code == 0
    cases = [("nobody", "Echo", "edgehost: board sim: nobody Echo: no actor nobody on this "
                                "board\n"),
             ("faults", "Fail", "edgehost: board sim: faults Fail: failed on purpose\n"),
             ("faults", "Nope", "edgehost: board sim: faults Nope: unknown operation: Nope\n"),
             ("faults", "Unreachable", f"edgehost: board sim: faults Unreachable: actor {key}: "
                                       "trapped in Unreachable: unreachable executed\n")]
    for actor, operation, error in cases:
        answer = board(sim, "call", actor, operation)
        assert (answer.code, answer.out, answer.err) == (1, "", error)


def test_a_host_call_that_would_leave_the_board_gets_no_lattice_connected(
        start_sim, board, signed):
    sim = start_sim()
    module, key = signed("hostcall", caps=["example:relay"])
    assert board(sim, "install", module).code == 0
    answer = board(sim, "call", "hostcall", "Relay", "anyone there?")
    assert (answer.code, answer.out) == (1, ""), answer
    assert answer.err == (f"edgehost: board sim: hostcall Relay: host call failed: no lattice "
                          f"connected: actor {key[:8]}… (hostcall) called example:relay "
                          f"Relay.Forward; `edgehost board` serves no providers\n")


@pytest.mark.parametrize("argv, error", [
    (["Echo", "text", "--file", "payload.bin"], "call: give PAYLOAD or --file, not both"),
    (["Echo", "--file", "absent.bin"],
     "call: cannot read --file absent.bin (No such file or directory)"),
    (["Echo", "{not json", "--msgpack-json"],
     "call: PAYLOAD is not JSON, as --msgpack-json needs (Expecting property name"),
])
def test_bad_payloads_are_refused_before_the_board_is_asked(echo_board, board, tmp_path,
                                                            monkeypatch, argv, error):
    sim, _ = echo_board
    monkeypatch.chdir(tmp_path)
    (tmp_path / "payload.bin").write_bytes(b"x")
    answer = board(sim, "call", "echoer", *argv)
    assert (answer.code, answer.out) == (1, ""), answer
    assert answer.err.startswith(f"edgehost: {error}") and answer.err.count("\n") == 1


def test_a_reader_that_hangs_up_early_gets_no_traceback(echo_board, key_file):
    sim, key = echo_board
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head -c 0`: nobody reads the answer
    try:
        done = subprocess.run([EDGEHOST, "board", *sim.board_args, "--key-file", str(key_file),
                               "call", key, "Echo", "x" * 10_000], stdout=write_end,
                              stderr=subprocess.PIPE, timeout=COMMAND_TIMEOUT)
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (141, b"")  # as the README has it
