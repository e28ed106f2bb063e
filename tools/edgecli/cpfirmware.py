"""The board's firmware on CircuitPython: its ESP32 port with wasm3 and the host code frozen in.

`plan(profile)` composes what CircuitPython's `ports/espressif` build is given: a board folder
of our own (`boards/edgehost_<profile>`) that takes CircuitPython's own definition of the
profile's board (named by the profile's `firmware.circuitpython_board`) and sets the profile's
flash and PSRAM sizes; the wasm3 module as a user C module (CircuitPython keeps MicroPython's
`USER_C_MODULES`); the host code as frozen folders (`FROZEN_MPY_DIRS`); the `make` command.
Only the plan (`edgehost firmware build --runtime circuitpython --dry-run`): the pinned sources
carry the port without ESP-IDF and its other submodules, which the build itself needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edgecli import cpbuild, mpbuild, profiles
from edgecli.firmware import FirmwareError

# what CircuitPython builds its image as (ports/espressif/Makefile)
IMAGE = "firmware.bin"


@dataclass
class CircuitPythonPlan:
    """What one profile's CircuitPython firmware build is made of; paths are absolute."""

    profile: profiles.Profile
    board: str  # CircuitPython's board folder, e.g. espressif_esp32s3_devkitc_1_n8r8
    circuitpython: Path  # the pinned CircuitPython tree
    wasm3: Path
    files: dict[str, str] = field(default_factory=dict)  # generated file -> text

    @property
    def port_dir(self) -> Path:
        return self.circuitpython / "ports" / "espressif"

    @property
    def board_name(self) -> str:
        return "edgehost_" + self.profile.name.replace("-", "_")

    @property
    def board_dir(self) -> Path:
        return self.port_dir / "boards" / self.board_name

    @property
    def frozen(self) -> list[Path]:
        """The folders whose Python files are frozen (firmware/'s boot.py and main.py come
        along as modules; the board runs those of its filesystem)."""
        return list(mpbuild.FROZEN_DIRS)

    @property
    def image(self) -> Path:
        return self.port_dir / ("build-" + self.board_name) / IMAGE

    def make_args(self) -> list[str]:
        """The `make` command line (without the program name), in an ESP-IDF environment."""
        return ["-C", str(self.port_dir), "BOARD=" + self.board_name,
                "CP_VERSION=" + cpbuild.VERSION, "USER_C_MODULES=%s" % mpbuild.CMODULES,
                "WASM3_DIR=%s" % self.wasm3,
                "FROZEN_MPY_DIRS=%s" % " ".join(map(str, self.frozen))]


def circuitpython_board(name: str) -> str:
    """CircuitPython's board folder that a profile's `firmware` object names."""
    settings = profiles.profile_json(name).get("firmware")
    board = settings.get("circuitpython_board") if isinstance(settings, dict) else None
    if not isinstance(board, str):
        raise FirmwareError("profile %s: %s has no firmware.circuitpython_board (CircuitPython's "
                            "board folder in ports/espressif/boards, e.g. "
                            "espressif_esp32s3_devkitc_1_n8r8)"
                            % (name, profiles.profile_file(name)))
    return board


def _size(value: int, what: str, profile: profiles.Profile) -> str:
    if value % (1 << 20):
        raise FirmwareError("profile %s: %s %d is not a whole number of MiB"
                            % (profile.name, what, value))
    return "%dMB" % (value >> 20)


def board_files(plan: CircuitPythonPlan) -> dict[str, str]:
    """Our board folder: CircuitPython's board for the profile, with the profile's sizes."""
    theirs = plan.port_dir / "boards" / plan.board
    if not (theirs / "mpconfigboard.mk").is_file():
        raise FirmwareError("profile %s: CircuitPython %s has no board %s (%s)"
                            % (plan.profile.name, cpbuild.VERSION, plan.board, theirs))
    profile = plan.profile
    mk = ["# edgehost: %s on CircuitPython's %s" % (profile.name, plan.board),
          "include %s" % (theirs / "mpconfigboard.mk"),
          "CIRCUITPY_ESP_FLASH_SIZE = %s" % _size(profile.flash_bytes, "flash_bytes", profile)]
    if profile.psram_bytes:
        mk.append("CIRCUITPY_ESP_PSRAM_SIZE = %s"
                  % _size(profile.psram_bytes, "psram_bytes", profile))
    # the build compiles board.c and pins.c from the board's own folder, and reads its
    # sdkconfig by name: ours take theirs
    files = {"mpconfigboard.mk": "\n".join(mk) + "\n",
             "sdkconfig": (theirs / "sdkconfig").read_text()}
    for name in ("mpconfigboard.h", "board.c", "pins.c"):
        files[name] = '#include "%s"\n' % (theirs / name)
    return files


def plan(name: str, circuitpython: Path | None = None,
         wasm3: Path | None = None) -> CircuitPythonPlan:
    """The CircuitPython build of profile `name`; the trees default to the board's CircuitPython
    build's (edgecli.cpbuild)."""
    try:
        profile = profiles.profile(name)
    except profiles.ProfileError as exc:
        raise FirmwareError(str(exc)) from None
    board = circuitpython_board(name)
    src = cpbuild.OUTPUT / "src"
    result = CircuitPythonPlan(profile, board, circuitpython or src / "circuitpython",
                               wasm3 or src / "wasm3")
    result.files = {str(result.board_dir / k): v for k, v in board_files(result).items()}
    return result
