"""The `edgehost` argument parser: options anywhere in a leaf command, usage errors in one line."""

from __future__ import annotations

import pytest

from edgecli.main import build_parser
from edgecli.profiles import all_profiles


def test_option_between_positionals_of_board_call():
    args = build_parser().parse_args(
        ["board", "--tcp", "127.0.0.1:1", "--key-file", "k.json",
         "call", "MACTOR", "Echo", "--msgpack-json", "[1, 2]"]
    )
    assert (args.actor, args.operation, args.payload, args.msgpack_json) == (
        "MACTOR", "Echo", "[1, 2]", True
    )


def test_usage_error_exits_2_with_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["board", "--tcp", "h:1", "--key-file", "k", "call", "M"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "operation" in err


@pytest.mark.parametrize("command", [["board", "--tcp", "h:1", "call", "M", "Op"],
                                     ["call", "M", "Op"]])
def test_a_calls_default_timeout_outlasts_every_profiles_deadline(command):
    # so a runaway call shows the board's "deadline exceeded", not a timeout of the CLI
    timeout = build_parser().parse_args(command).timeout
    assert all(timeout > p.limits["call_deadline_ms"] / 1000 for p in all_profiles())
