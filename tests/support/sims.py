"""Simulated boards for tests: in a thread of the test process, or as `edgehost sim`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from edgecli.simulator import Simulator, sim_config
from edgegate.devices import simprocess
from support.gateway import WAIT
from support.keys import BOARD_ID, PAIRING_KEY


class BoardInThread:
    """A simulated board on a free TCP port, run in a thread of the test process."""

    def __init__(self, flash: Path, **config: Any):
        self.console: list[str] = []
        self.sim = Simulator(sim_config(BOARD_ID, PAIRING_KEY, {"kind": "usb"}, **config),
                             flash, ("127.0.0.1", 0), console=self.console.append)
        self.url = self.sim.line.where
        self.board = self.sim.board
        self.thread = self.sim.start_thread()

    def stop(self) -> None:
        self.sim.stop()
        self.thread.join(WAIT)


def sim_command(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from edgecli.main import main; "
            "sys.exit(main(sys.argv[1:]))", "sim", *args]


class SimProcess(simprocess.SimProcess):
    """`edgehost sim ARGS…` as its own process; the address it prints is `where`."""

    def __init__(self, stderr_path: Path, *args: str):
        super().__init__(list(args), stderr_path, WAIT)

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.splitlines(keepends=True)
