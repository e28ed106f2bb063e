"""The board under test for tests/hil: a real one on a serial port, or the simulated one.

Both are reached the same way, as a serial line opened with pyserial, and both reset for real:
the real board through its serial lines (RTS pulls EN low, as esptool's hard reset does), the
simulated board by ending its process and booting it again on the same flash.
(Named uniquely: every test folder has a conftest, and module names must not collide.)
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import serial
from support.gateway import Gateway, open_gateway

from edgecli import profiles
from edgegate.devices.boardkey import BoardKey
from edgegate.devices.simprocess import SimProcess
from edgegate.devices.transports import SerialTransport

SIM_START_TIMEOUT = 30.0  # the board's MicroPython boots and restores its actors first
RESET_PULSE_S = 0.1
NO_BOARD: str | None = None  # why the real board asked for cannot be there (set by conftest)


class BoardUnderTest:
    """What every scenario uses: `connect()`, `reset()`, `stop()`, the key, the profile."""

    port: str
    baud: int
    key: BoardKey
    profile: profiles.Profile
    deadline_ms: int  # how long one call may run on the board before the engine stops it
    runtime: str  # the interpreter the board's hello names

    async def connect(self) -> Gateway:
        transport = await SerialTransport.open(self.port, self.baud)
        return await open_gateway(transport, self.key.board_id, self.key.pairing_key)

    def reset(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        pass

    def registry_entry(self) -> dict[str, object]:
        return {"board_id": self.key.board_id, "pairing_key": self.key.pairing_key.hex(),
                "port": self.port, "baud": self.baud}


class SimulatedBoard(BoardUnderTest):
    """`edgehost sim --micropython` (or `--circuitpython`): firmware/ on the board's MicroPython
    (or CircuitPython) with its wasm3 engine, behind a pseudo-terminal; its flash a folder kept
    across resets."""

    DEADLINE_MS = 500  # lowered by its config, so a runaway is stopped quickly

    def __init__(self, folder: Path, profile_name: str, runtime: str = "micropython"):
        self.runtime = runtime
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.profile = profiles.profile(profile_name)
        self.key = BoardKey.create(folder / "board.key", "hil-sim")
        self.baud = 115200  # a pty does not care
        self.deadline_ms = self.DEADLINE_MS
        config = {"board_id": self.key.board_id, "pairing_key": self.key.pairing_key.hex(),
                  "profile": profile_name, "transport": {"kind": "usb"},
                  "limits": {"call_deadline_ms": self.DEADLINE_MS}}
        self.config = folder / "config.json"
        self.config.write_text(json.dumps(config))
        self.boots = 0
        self._start()

    def _start(self) -> None:
        self.sim = SimProcess(["--pty", "--" + self.runtime, "--config", str(self.config),
                               "--flash-dir", str(self.folder / "flash")],
                              self.folder / ("sim%d.err" % self.boots), SIM_START_TIMEOUT)
        self.boots += 1
        self.port = self.sim.where

    def reset(self) -> None:
        self.sim.stop()
        self._start()

    def stop(self) -> None:
        self.sim.stop()


class RealBoard(BoardUnderTest):
    """A provisioned board on a serial port (its gateway-side port: the USB bridge or the
    board's own USB)."""

    runtime = "micropython"  # the firmware edgehost builds for a board

    def __init__(self, port: str, baud: int, key_file: Path, profile_name: str):
        self.port, self.baud = port, baud
        self.key = BoardKey.load(key_file)
        self.profile = profiles.profile(profile_name)
        self.deadline_ms = self.profile.limits["call_deadline_ms"]

    def reset(self) -> None:
        """Pull EN low through RTS (DTR high keeps IO0 high: boot the firmware, not the ROM
        loader), as esptool's hard reset does; then give it time to boot."""
        with serial.serial_for_url(self.port, self.baud) as line:
            line.dtr = False
            line.rts = True
            time.sleep(RESET_PULSE_S)
            line.rts = False
        time.sleep(2.0)  # boot: ROM, bootloader, MicroPython, actors restored from flash


def board_missing(port: str) -> str | None:
    """Why no board can be on `port` (a device path that is not there), or None."""
    if "://" in port or os.path.exists(port):
        return None
    return ("no board on %s (--board-port): plug it in, or leave --board-port out to run "
            "against the simulated board" % port)
