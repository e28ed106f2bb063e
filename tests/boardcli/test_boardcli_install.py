"""`edgehost board install`: signed modules only, a progress bar, the board's refusals shown."""

from __future__ import annotations


def test_install_and_call_over_a_pty(start_sim, board, signed):
    sim = start_sim(tcp=False)
    assert sim.where.startswith("/dev/")
    module, key = signed("echo")

    installed = board(sim, "install", module)
    assert installed.code == 0, installed
    assert installed.out == f"installed {key} (echo) on board sim\n"

    answer = board(sim, "call", "echo", "Echo", "over a pty")
    assert (answer.code, answer.out_bytes) == (0, b"over a pty"), answer
