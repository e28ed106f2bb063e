"""An actor that never returns, on the simulator as a user runs it: the call stops at the
profile's deadline, the board serves on, and the simulator still stops when told to."""

from __future__ import annotations

import signal
import subprocess
import time

from support.commands import COMMAND_TIMEOUT, EDGEHOST


def wait_for(text: str, sim) -> None:
    """Until the simulator has logged `text` (bounded: a hung test fails, none is timed)."""
    limit = time.monotonic() + COMMAND_TIMEOUT
    while text not in sim.stderr:
        assert time.monotonic() < limit, f"the simulator never said {text!r}: {sim.stderr}"
        time.sleep(0.05)


def test_a_runaway_call_ends_in_deadline_exceeded_and_the_board_serves_on(
        start_sim, edgehost, key_file, signed):
    sim = start_sim()  # the default profile: a 10 s deadline
    module, key = signed("runaway")
    board = ["board", *sim.board_args, "--key-file", key_file]  # the CLI's default timeout
    assert edgehost(*board, "install", module).code == 0

    spun = edgehost(*board, "call", "runaway", "Spin")
    assert (spun.code, spun.out) == (1, ""), spun
    assert spun.err == (f"edgehost: board sim: runaway Spin: actor {key}: trapped in Spin: "
                        f"deadline exceeded\n")
    counted = edgehost(*board, "call", "runaway", "Count")
    assert (counted.code, counted.out_bytes) == (0, b"\x01"), counted  # a fresh instance
    # a counted loop without calls, closing with br_if, is stopped the same way
    spun = edgehost(*board, "call", "--file", "-", "runaway", "SpinCounted",
                    stdin=(2**32 - 1).to_bytes(4, "little"))
    assert (spun.code, spun.out) == (1, ""), spun
    assert spun.err == (f"edgehost: board sim: runaway SpinCounted: actor {key}: trapped in "
                        f"SpinCounted: deadline exceeded\n")
    counted = edgehost(*board, "call", "runaway", "Count")
    assert (counted.code, counted.out_bytes) == (0, b"\x01"), counted


def test_sigterm_stops_a_simulator_while_its_actor_runs_away(start_sim, key_file, signed,
                                                              edgehost):
    sim = start_sim()
    module, _ = signed("runaway")
    board = ["board", *sim.board_args, "--key-file", key_file]
    assert edgehost(*board, "install", module).code == 0
    caller = subprocess.Popen([EDGEHOST, *board, "call", "runaway", "LogThenSpin"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for("spinning", sim)
        sim.process.send_signal(signal.SIGTERM)
        # the deadline is 10 s away; stopping must not wait for it, nor for SIGKILL
        assert sim.process.wait(COMMAND_TIMEOUT) == 0
        assert "deadline exceeded" not in sim.stderr
    finally:
        caller.kill()
        caller.wait()
