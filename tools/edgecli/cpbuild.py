"""Build CircuitPython's unix port with the board's wasm3 module into the build folder's
circuitpython/ (edgecli.packagedata).

The board's CircuitPython for the tests and `edgehost sim --circuitpython`: the pinned
CircuitPython release's unix port (`standard` variant, no `_thread`, as on a board), with two
user C modules: firmware/cmodules/wasm3 and MicroPython's unchanged `ports/unix/modsocket.c`
(CircuitPython removed its unix `socket`; the board's Wi-Fi stand-ins in tests/circuitpy/ need
it), taken from the pinned MicroPython release at build time. Sources, SHA-256 checks and the
cache on inputs work as in edgecli.mpbuild.

    python -m edgecli.cpbuild [--output DIR] [--vendor DIR]   prints the binary's path
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from pathlib import Path

from edgecli import packagedata
from edgecli.mpbuild import (
    CMODULES,
    MICROPYTHON,
    VENDOR,
    WASM3,
    MicroPythonBuildError,
    PinnedSource,
    build_folder,
    check_tools,
    hash_inputs,
    run_make,
    source_tree,
    wasm3_tree,
)

OUTPUT = packagedata.build_dir() / "circuitpython"
# what makes the unix port look like a CircuitPython board to the board's code: first on its path
STAND_INS = packagedata.cpboard_dir()
VERSION = "10.2.1"
CIRCUITPYTHON = PinnedSource(
    "circuitpython", "circuitpython-%s.tar.gz" % VERSION,
    "4f20bb2763aa63aac9deb72ad33cee78b230e882abd607b43419ba01cc1ed9f8",
    "https://github.com/adafruit/circuitpython.git", "bcfcb511352652d7cb62d3b415e4a624380f1830",
)
SOURCES = (CIRCUITPYTHON, MICROPYTHON, WASM3)
RECIPE = "1"  # bump when the steps below change in a way the inputs do not show

# CP_VERSION: without it the version script wants a git clone with tags. The manifest is empty
# and ulab is off because their submodules are not in the archive; ringio does not build
# against CircuitPython's ringbuf. No _thread: a CircuitPython board has none. Python frames on
# a stack of their own, as CircuitPython's board ports have them (py/circuitpy_mpconfig.h) and
# its unix port does not: without it a waPC call is 2-6 times slower (docs/PERFORMANCE.md).
MAKE_FLAGS = ["VARIANT=standard", "CP_VERSION=" + VERSION, "FROZEN_MANIFEST=",
              "CIRCUITPY_ULAB=0", "MICROPY_PY_THREAD=0", "MICROPY_PY_SOCKET=1",
              "CFLAGS_EXTRA=-DMICROPY_PY_MICROPYTHON_RINGIO=0 -DMICROPY_ENABLE_PYSTACK=1"]
SOCKET_MODULE_MK = "SRC_USERMOD_C += $(USERMOD_DIR)/modsocket.c\n"


def inputs_digest() -> str:
    """A hash of everything the binary is built from."""
    return hash_inputs(hashlib.sha256(), SOURCES, MAKE_FLAGS + [SOCKET_MODULE_MK, RECIPE])


def _user_modules(output: Path, micropython: Path) -> Path:
    """The folder of user C modules this build takes: the board's wasm3 and MicroPython's
    unix socket module."""
    modules = output / "cmodules"
    shutil.rmtree(modules, ignore_errors=True)
    (modules / "socket").mkdir(parents=True)
    (modules / "wasm3").symlink_to(CMODULES / "wasm3", target_is_directory=True)
    shutil.copy2(micropython / "ports" / "unix" / "modsocket.c", modules / "socket")
    (modules / "socket" / "micropython.mk").write_text(SOCKET_MODULE_MK)
    return modules


def ensure_built(output: Path | None = None, vendor: Path = VENDOR) -> Path:
    """Return the path of the built binary, building it first when an input changed."""
    output = output or OUTPUT
    binary = output / "circuitpython"
    stamp = output / "circuitpython.inputs"
    wanted = inputs_digest()
    if binary.exists() and stamp.exists() and stamp.read_text() == wanted:
        return binary
    check_tools("CircuitPython", also=("git",))  # its version script runs git
    output.mkdir(parents=True, exist_ok=True)
    src = output / "src"
    circuitpython = source_tree(CIRCUITPYTHON, vendor, src)
    micropython = source_tree(MICROPYTHON, vendor, src)
    wasm3 = wasm3_tree(vendor, src)
    modules = _user_modules(output, micropython)
    log = output / "build.log"
    log.write_text("")
    print("edgehost: building CircuitPython with the wasm3 module into %s (about half a minute)"
          % binary, file=sys.stderr)
    build = build_folder("build", MAKE_FLAGS)
    run_make(["-C", str(circuitpython / "ports" / "unix"), "BUILD=" + build, *MAKE_FLAGS,
              "USER_C_MODULES=%s" % modules, "WASM3_DIR=%s" % wasm3], log,
             "the unix port with wasm3")
    shutil.copy2(circuitpython / "ports" / "unix" / build / "micropython", binary)
    stamp.write_text(wanted)
    return binary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgecli.cpbuild", description=__doc__)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--vendor", type=Path, default=VENDOR)
    args = parser.parse_args(argv)
    try:
        print(ensure_built(args.output.resolve() if args.output else None,
                           args.vendor.resolve()))
    except MicroPythonBuildError as exc:
        print("edgehost: " + str(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
