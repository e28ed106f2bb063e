"""A board that another connection holds says so at once, in one line, instead of leaving the
command to time out as if it were off."""

from __future__ import annotations

import signal

import pytest
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


@pytest.mark.parametrize("tcp, said", [
    (True, "busy with another connection (a gateway, or another edgehost board command); try "
           "again once that one has ended"),
    (False, "cannot open the port (busy with another connection; a gateway, another edgehost "
            "board command or a serial monitor holds it)"),
], ids=["tcp", "serial"])
def test_a_board_held_by_board_logs_answers_busy_at_once(start_sim, board, key_file, tcp, said):
    sim = start_sim(tcp=tcp)
    holder = Holder(sim, key_file)
    try:
        done = board(sim, "info")
        assert (done.code, done.out, done.err) == (1, "", f"edgehost: board at {sim.where}: "
                                                          f"{said}\n")
        if tcp:  # the board told the holder whom it turned away, and serves it on
            assert holder.line_with("turned away another connection")
    finally:
        holder.stop()
    assert board(sim, "info").code == 0  # free again once the holder has gone
