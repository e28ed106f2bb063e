"""What a user of wash, mpremote and esptool expects: the commands listed when none is given,
"did you mean" for a typo, and a payload from stdin."""

from __future__ import annotations

import subprocess

from cli_paths import COMMAND_TIMEOUT, EDGEHOST


def test_edgehost_alone_lists_its_commands(edgehost):
    got = edgehost()
    assert got.code == 0 and got.err == "", got
    for command in ("up", "call", "ctl", "board", "claims", "deploy"):
        assert f"\n    {command} " in got.out, command


def test_a_command_without_its_action_names_the_actions(edgehost):
    got = edgehost("ctl")
    assert got.code == 2
    assert got.err == ("edgehost ctl: give one of get, start, stop, scale, update, link, "
                       "registry, apply, call, watch (see edgehost ctl --help)\n")


def test_a_mistyped_command_or_choice_gets_the_close_one(edgehost):
    for argv, said in ((["uo"], "edgehost: argument COMMAND: no such choice as 'uo'; did you "
                                "mean 'up'? (see edgehost --help)\n"),
                       (["ctl", "sotp"], "edgehost ctl: argument ACTION: no such choice as "
                                         "'sotp'; did you mean 'stop'? (see edgehost ctl "
                                         "--help)\n"),
                       (["keys", "gen", "acount"], "edgehost keys gen: argument kind: no such "
                                                   "choice as 'acount'; did you mean 'account'? "
                                                   "(see edgehost keys gen --help)\n")):
        got = edgehost(*argv)
        assert (got.code, got.err) == (2, said), got
    unlike = edgehost("zzz")
    assert unlike.code == 2 and "did you mean" not in unlike.err and "'up'" in unlike.err


def test_a_mistyped_actor_on_the_board_gets_the_close_one(edgehost, sim, key_file, signed_echo):
    board = ["board", *sim.board_args, "--key-file", key_file]
    assert edgehost(*board, "install", signed_echo).code == 0
    got = edgehost(*board, "call", "ehco", "Echo", "hi")
    assert (got.code, got.err) == (1, "edgehost: board sim has no actor 'ehco'; did you mean "
                                      "'echo'?\n"), got


def test_a_payload_from_stdin_with_file_dash(sim, key_file, signed_echo, env, tmp_path):
    board = [EDGEHOST, "board", *sim.board_args, "--key-file", str(key_file)]
    installed = subprocess.run([*board, "install", str(signed_echo)], env=env,
                               capture_output=True, timeout=COMMAND_TIMEOUT)
    assert installed.returncode == 0, installed.stderr
    piped = subprocess.run([*board, "call", "echo", "Echo", "--file", "-"], env=env,
                           input=b"from a pipe\x00\xff", capture_output=True,
                           timeout=COMMAND_TIMEOUT, cwd=tmp_path)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == b"from a pipe\x00\xff"
