"""The thermostat actor on the board under test: `pytest` here runs it on the simulated board,
`pytest --board-port /dev/ttyUSB0 --board-profile NAME --board-key-file FILE` on a real one."""

from pathlib import Path

import pytest

from edgecli.pytestplugin import BoardTestError

SOURCE = Path(__file__).parent.parent / "actor" / "thermostat.c"


@pytest.fixture
def thermostat(edgehost_board, edgehost_actor):
    return edgehost_board.install(edgehost_actor(SOURCE), dev_sign=True)


@pytest.mark.parametrize(("degrees", "decision"), [
    (b"-4", b"heat"), (b"18", b"heat"), (b"19", b"hold"), (b"23", b"hold"), (b"24", b"cool"),
])
def test_it_decides_by_the_temperature(edgehost_board, thermostat, degrees, decision):
    assert edgehost_board.call(thermostat, "Decide", degrees) == decision


def test_it_logs_each_decision(edgehost_board, thermostat):
    edgehost_board.call(thermostat, "Decide", b"30")
    assert any(line.endswith("thermostat: too warm, cooling") for line in edgehost_board.logs())


def test_a_reading_that_is_not_a_number_is_refused_naming_it(edgehost_board, thermostat):
    with pytest.raises(BoardTestError, match="not a temperature in whole degrees: warm"):
        edgehost_board.call(thermostat, "Decide", b"warm")


def test_it_is_still_there_after_a_reset(edgehost_board, thermostat):
    edgehost_board.reset()
    assert edgehost_board.call(thermostat, "Decide", b"21") == b"hold"
