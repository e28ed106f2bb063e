"""A board that another connection holds says so at once, in one line, instead of leaving the
command to time out as if it were off."""

from __future__ import annotations

import signal

from support.commands import EDGEHOST
from test_boardcli_board import Follower


class Holder(Follower):
    """`edgehost board logs` holding the board, as a gateway would."""

    def __init__(self, sim, key_file):
        super().__init__([EDGEHOST, "board", *sim.board_args, "--key-file", str(key_file),
                          "logs"])
        self.line_with("open with gateway")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        assert self.finish()[0] == 130


def test_a_board_on_tcp_held_by_board_logs_answers_busy_at_once(start_sim, board, key_file):
    sim = start_sim()
    follower = Holder(sim, key_file)
    try:
        done = board(sim, "info")
        assert (done.code, done.out) == (1, "")
        assert done.err == (f"edgehost: board at {sim.where}: busy with another connection (a "
                            f"gateway, or another edgehost board command); try again once that "
                            f"one has ended\n")
        assert follower.line_with("turned away another connection")  # the holder serves on
    finally:
        follower.stop()
    assert board(sim, "info").code == 0  # free again once the holder has gone


def test_a_board_on_a_serial_line_held_by_board_logs_answers_busy_at_once(start_sim, board,
                                                                           key_file):
    sim = start_sim(tcp=False)
    follower = Holder(sim, key_file)
    try:
        done = board(sim, "info")
        assert (done.code, done.out) == (1, "")
        assert done.err == (f"edgehost: board at {sim.where}: cannot open the port (busy with "
                            f"another connection; a gateway, another edgehost board command or "
                            f"a serial monitor holds it)\n")
    finally:
        follower.stop()
    assert board(sim, "info").code == 0
