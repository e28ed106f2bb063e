"""A second `edgehost gateway` for a board that one already serves: told at once that the board
is busy, it says so once and keeps trying quietly, and the first gateway serves on."""

from __future__ import annotations

import time

import pytest
from lattice_rig import edgehost, write_registry
from support.commands import COMMAND_TIMEOUT

pytestmark = pytest.mark.nats

TURNED_AWAY = "turned away another connection"


def test_a_second_gateway_for_a_served_board_says_once_that_it_is_busy(
        sim_boards, tmp_path, run_gateway, nats_server, gateway_env):
    board = sim_boards("kitchen")
    registry = write_registry(tmp_path / "boards.json", board.registry_entry())
    first = run_gateway(registry)
    first.wait_for_line("board kitchen is host N")
    second = run_gateway(registry)
    second.wait_for_line("busy with another connection")
    sim_log = board.folder / "sim.err"
    limit = time.monotonic() + COMMAND_TIMEOUT
    while sim_log.read_text(errors="replace").count(TURNED_AWAY) < 4:  # it tried again
        assert time.monotonic() < limit, "the second gateway stopped trying"
        time.sleep(0.05)
    second.stop()
    said = [line for line in second.err_path.read_text().splitlines() if "busy" in line]
    assert said == [f"edgehost: board at tcp://{board.address}: busy with another connection "
                    f"(a gateway, or another edgehost board command); try again once that one "
                    f"has ended"]
    info = edgehost("board", "--nats", nats_server.url, "--key-file", board.key_file, "info",
                    env=gateway_env)
    assert info.returncode == 0, info.stderr  # through the first gateway, as before
