"""The board store's module region on both engines: power cuts at every phase, compaction under
fragmentation, swap and compaction while an actor runs from its mapped module."""

from __future__ import annotations

import pytest

ENGINE_LINES = {"pywasm3": "run in place: False", "wasm3-micropython": "run in place: True",
                "wasm3-circuitpython": "run in place: True"}


@pytest.fixture
def store_scenario(engine, actors, request, tmp_path):
    """store_scenario(name) -> the lines store_scenarios.run(name) prints on that engine."""
    from boardcode import board_python, run_board_code

    from edgecli import actorbuild

    def run(name: str) -> list[str]:
        if engine == "pywasm3":
            import os

            import store_scenarios

            lines: list[str] = []
            here = os.getcwd()
            os.chdir(tmp_path)
            try:
                store_scenarios.run(name, str(actorbuild.OUTPUT), lines.append)
            finally:
                os.chdir(here)
            return lines
        return run_board_code(board_python(engine, request),
                              "import store_scenarios\nstore_scenarios.run(%r, %r)\n"
                              % (name, str(actorbuild.OUTPUT)), tmp_path, timeout=300)

    return run


def test_power_cut_at_any_byte_leaves_the_old_or_the_new_actors(store_scenario):
    lines = store_scenario("power_cut_at_every_phase")
    assert lines[0] == ("operations write 185560 bytes, 12 index commits, 0 writes to unerased "
                        "flash")
    assert lines[1] == "1914 cuts, every reboot consistent"


def test_compaction_gathers_scattered_free_space_for_a_module(store_scenario):
    assert store_scenario("compaction_under_fragmentation") == [
        "free 184320 bytes in pieces, the largest 114688; a module of 184310",
        "restored 7 actors, dropped 0, all whole: True, free 0",
        "full: cannot start writing a module of 8192 bytes to flash: only 0 of the module "
        "region's 262144 bytes are free",
    ]


def test_an_actor_answers_through_swap_and_compaction_of_its_mapped_module(store_scenario,
                                                                            engine):
    assert store_scenario("swap_and_compaction_while_mapped") == [
        ENGINE_LINES[engine],
        "b'one'",
        "while the new one arrives: b'two'",
        "after its record moved on: b'three'",
        "swapped: b'four'",
        "reloaded ECHO after compaction",
        "after compaction: b'five'",
        "after a reboot: ['BIG', 'ECHO'], dropped 0",
    ]


BUDGET_OF_A_BOARD = """
from edgehost.board import Board
from edgehost.config import BoardConfig
config = BoardConfig({"board_id": "b1", "pairing_key": "00" * 32,
                      "profile": "esp32-s3-devkitc-n8r8",
                      "transport": {"kind": "tcp-listen", "port": 1}}, "config", %r)
board = Board(config, "flash", lambda: None)
print(board.store.in_place, board.budget().report()["maps"])
"""


def test_only_a_board_that_maps_its_region_leaves_modules_out_of_its_ram(micropython,
                                                                           board_micropython,
                                                                           tmp_path):
    from boardcode import BoardPython, run_board_code

    from edgecli.profiles import PROFILES_DIR

    code = BUDGET_OF_A_BOARD % str(PROFILES_DIR)
    # MicroPython without the wasm3 module cannot map: modules count in its RAM
    assert micropython(code).split() == ["False", "False"]
    assert run_board_code(BoardPython("micropython", board_micropython), code,
                          tmp_path) == ["True True"]
