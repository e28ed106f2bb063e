"""Build MicroPython's unix port with the board's wasm3 module (firmware/cmodules/) into the
build folder (edgecli.packagedata).

The sources are the pinned MicroPython and wasm3 releases: the archives in the vendor folder
(../shared/vendor/ beside a clone, or $EDGEHOST_VENDOR_DIR) when they are there (their SHA-256
checked), otherwise a git fetch of upstream at the pinned commit. The binary is rebuilt only
when an input changed (the pins, the module's files, the make flags); a warm run only hashes
the module's files.

    python -m edgecli.mpbuild [--output DIR] [--vendor DIR] [--frozen] [--32bit]
                                                                    prints the binary's path

With --frozen (`ensure_built(frozen=True)`), the host code of firmware/ and shared/ is frozen
into the binary through firmware/manifest.py, as on a flashed board; that binary goes to
micropython-frozen/ and is rebuilt when a frozen file changes.

With --32bit (`ensure_built(bits32=True)`), the port is built as 32-bit code
(MICROPY_FORCE_32BIT, which needs gcc's 32-bit libraries: Debian's gcc-multilib): an ESP32 is
32-bit, and the 64-bit port's objects and pointers overstate what the board's heap holds. It
goes to micropython-32/ (micropython-frozen-32/ with --frozen).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn

from edgecli import packagedata, portpatch

VENDOR = packagedata.vendor_dir()
OUTPUT = packagedata.build_dir() / "micropython"
FROZEN_OUTPUT = packagedata.build_dir() / "micropython-frozen"
OUTPUT_32 = packagedata.build_dir() / "micropython-32"
FROZEN_OUTPUT_32 = packagedata.build_dir() / "micropython-frozen-32"
HOST_MANIFEST = packagedata.firmware_dir() / "manifest.py"
# what the host manifest freezes from, and what paths in the build's inputs are relative to
FROZEN_DIRS = (packagedata.firmware_dir(), packagedata.shared_dir())
CMODULES = packagedata.firmware_dir() / "cmodules"
RECIPE = "1"  # bump when the steps below change in a way the inputs do not show

# What the unix port leaves out: each needs a git submodule the pinned sources do not carry.
# Python frames on MicroPython's own stack instead of the heap (as the board's firmware should
# have it): a waPC call nests several large frames, and allocating then freeing each on the
# heap made calls 5-10 times slower (docs/PERFORMANCE.md).
MAKE_FLAGS = ["MICROPY_PY_BTREE=0", "MICROPY_PY_SSL=0", "MICROPY_PY_FFI=0",
              "CFLAGS_EXTRA=-DMICROPY_ENABLE_PYSTACK=1"]
FORCE_32BIT = "MICROPY_FORCE_32BIT=1"
MANIFEST = 'include("$(MPY_DIR)/extmod/asyncio")\n'
JOBS = "-j2"
BUILD_SUFFIXES = (".c", ".h", ".mk", ".cmake")  # the module's files that go into the build


@dataclass(frozen=True)
class PinnedSource:
    name: str
    archive: str
    sha256: str
    upstream: str
    commit: str


MICROPYTHON = PinnedSource(
    "micropython", "micropython-1.28.0.tar.gz",
    "cbe4378f3e291d6a6f54b8de921b203ab3f7d1b28f3824f1320e0bc689ecc35c",
    "https://github.com/micropython/micropython.git", "e0e9fbb17ed6fd06bb76e266ae554784c9c80804",
)
WASM3 = PinnedSource(
    "wasm3", "wasm3-0.9.0-c9b579d.tar.gz",
    "67d47c1c5cbaac3fa86f82893d9d5acc2cb490e1ecd445cfaa93f9edc0d11f8c",
    "https://github.com/wasm3/wasm3.git", "c9b579d8c048db71ce2322cf68a0d88ae81684d2",
)
SOURCES = (MICROPYTHON, WASM3)


class MicroPythonBuildError(RuntimeError):
    """The build (of MicroPython, or of CircuitPython by edgecli.cpbuild) could not run or
    failed; the message is one line saying why."""


def _say(text: str) -> None:
    print("edgehost: " + text, file=sys.stderr)


def frozen_manifest() -> str:
    """The unix port's manifest with the board's host code frozen in."""
    return MANIFEST + 'include("%s")\n' % HOST_MANIFEST


def frozen_files() -> list[Path]:
    """The files a frozen build reads (the host manifest and what it can freeze)."""
    return sorted(p for folder in FROZEN_DIRS for p in folder.rglob("*.py")
                  if "cmodules" not in p.parts)


def make_flags(bits32: bool = False) -> list[str]:
    """The unix port's make flags, for 32-bit code with `bits32`."""
    return MAKE_FLAGS + [FORCE_32BIT] if bits32 else MAKE_FLAGS


def default_output(frozen: bool = False, bits32: bool = False) -> Path:
    return {(False, False): OUTPUT, (True, False): FROZEN_OUTPUT,
            (False, True): OUTPUT_32, (True, True): FROZEN_OUTPUT_32}[frozen, bits32]


def frozen_name(path: Path) -> str:
    """A frozen file's name in the build's inputs: its path from above its folder
    (firmware/main.py), the same wherever edgehost is installed."""
    folder = next(f for f in FROZEN_DIRS if path.is_relative_to(f))
    return str(path.relative_to(folder.parent))


def inputs_digest(frozen: bool = False, bits32: bool = False) -> str:
    """A hash of everything the binary is built from."""
    digest = hashlib.sha256()
    if frozen:
        digest.update(frozen_manifest().encode())
        for path in frozen_files():
            digest.update(frozen_name(path).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return hash_inputs(digest, SOURCES, make_flags(bits32) + [MANIFEST, RECIPE])


def hash_inputs(digest, sources: tuple[PinnedSource, ...], settings: list[str]) -> str:
    """Finish `digest` with the pinned sources, the board's C modules and the build settings."""
    for source in sources:
        digest.update(("%s %s %s\n" % (source.name, source.sha256, source.commit)).encode())
    digest.update(portpatch.digest(portpatch.of("wasm3")).encode())
    for path in sorted(p for p in CMODULES.rglob("*") if p.suffix in BUILD_SUFFIXES):
        digest.update(str(path.relative_to(CMODULES)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(" ".join(settings).encode())
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _unpack_archive(source: PinnedSource, archive: Path, into: Path) -> None:
    found = _file_sha256(archive)
    if found != source.sha256:
        raise MicroPythonBuildError(
            "%s: SHA-256 is %s, but the pin is %s; replace the archive" % (archive, found,
                                                                         source.sha256))
    with tempfile.TemporaryDirectory(dir=into.parent) as scratch:
        with tarfile.open(archive) as tar:
            tar.extractall(scratch, filter="data")
        tops = list(Path(scratch).iterdir())
        if len(tops) != 1 or not tops[0].is_dir():
            raise MicroPythonBuildError("%s: expected one top folder in the archive" % archive)
        tops[0].rename(into)


def _fetch_upstream(source: PinnedSource, vendor: Path, into: Path) -> None:
    if shutil.which("git") is None:
        raise MicroPythonBuildError(
            "%s is not in %s and git is not installed to fetch %s at %s"
            % (source.archive, vendor, source.upstream, source.commit[:7]))
    _say("fetching %s at %s" % (source.upstream, source.commit[:7]))
    into.mkdir()
    steps = [["git", "init", "-q"], ["git", "fetch", "-q", "--depth", "1", source.upstream,
                                     source.commit], ["git", "checkout", "-q", "FETCH_HEAD"]]
    for step in steps:
        done = subprocess.run(step, cwd=into, capture_output=True, text=True)
        if done.returncode != 0:
            shutil.rmtree(into, ignore_errors=True)
            detail = (done.stderr.strip().splitlines() or ["exit %d" % done.returncode])[-1]
            raise MicroPythonBuildError("fetching %s at %s failed: %s"
                                        % (source.upstream, source.commit[:7], detail))


def source_tree(source: PinnedSource, vendor: Path, src_dir: Path,
                patches: tuple[portpatch.Insertion, ...] = ()) -> Path:
    """The unpacked (or fetched) tree of one pinned source with `patches` made in it, reused
    while its pin and those patches are the same (a changed patch gets a fresh tree, and the
    new timestamps make make recompile what includes the file)."""
    into = src_dir / source.name
    mark = into / ".edgehost-pin"
    pin = source.sha256 + source.commit + (portpatch.digest(patches) if patches else "")
    if mark.exists() and mark.read_text() == pin:
        return into
    shutil.rmtree(into, ignore_errors=True)
    src_dir.mkdir(parents=True, exist_ok=True)
    archive = vendor / source.archive
    if archive.exists():
        _unpack_archive(source, archive, into)
    else:
        _fetch_upstream(source, vendor, into)
    try:
        portpatch.apply(into, source.name, patches)
    except portpatch.PatchError as exc:
        raise MicroPythonBuildError(str(exc)) from None
    mark.write_text(pin)
    return into


def wasm3_tree(vendor: Path, src_dir: Path) -> Path:
    """wasm3's tree in `src_dir`, with edgecli.portpatch's changes to it."""
    return source_tree(WASM3, vendor, src_dir, portpatch.of(WASM3.name))


def check_tools(building: str = "MicroPython", also: tuple[str, ...] = ()) -> None:
    """Raise MicroPythonBuildError naming the first build tool that is not on PATH."""
    tools = ["gcc", "make", *also]
    for tool, what in zip(tools, ["a C compiler", "make", *also], strict=True):
        if shutil.which(tool) is None:
            raise MicroPythonBuildError(
                "building %s with the wasm3 module needs %s, and %s is not on PATH: install "
                "%s and %s (Debian: apt-get install %s)"
                % (building, what, tool, ", ".join(tools[:-1]), tools[-1],
                   " ".join(["build-essential", *also])))


def check_32bit_compiler() -> None:
    """Raise MicroPythonBuildError when gcc cannot link a 32-bit program (no gcc-multilib)."""
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run(["gcc", "-m32", "-x", "c", "-", "-o", str(Path(scratch, "a"))],
                              input="#include <stdio.h>\nint main(void) { return 0; }\n",
                              capture_output=True, text=True)
    if done.returncode != 0:
        raise MicroPythonBuildError(
            "the 32-bit MicroPython needs gcc's 32-bit libraries, and `gcc -m32` cannot build "
            "a program here: install them (Debian: apt-get install gcc-multilib)")


def run_make(args: list[str], log: Path, step: str) -> None:
    """make ARGS, what it prints kept in `log`. On a terminal a live line shows `step` and
    the file being compiled, as a count of the files done; elsewhere one line names the step."""
    console = Console(stderr=True)
    if not console.is_terminal:
        _say(step)
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console,
                        transient=True, disable=not console.is_terminal)
    compiled = 0
    with log.open("a") as out, progress:
        task = progress.add_task(step)
        make = subprocess.Popen(["make", JOBS, *args], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace")
        for line in make.stdout:
            out.write(line)
            if line.startswith("CC "):  # the build's own short line for each C file
                compiled += 1
                progress.update(task, description="%s: %s (%d files)"
                                % (step, line[3:].strip(), compiled))
                progress.refresh()
        done = make.wait()
    if done != 0:
        tail = log.read_text().strip().splitlines()[-12:]
        raise MicroPythonBuildError("make %s failed (exit %d); the end of %s:\n%s"
                                    % (args[1], done, log, "\n".join(tail)))


def build_folder(prefix: str, flags: list[str] = MAKE_FLAGS) -> str:
    """The port's build folder for `flags`: make does not notice changed flags, so each set
    of flags gets a folder of its own."""
    return prefix + "-" + hashlib.sha256(" ".join(flags).encode()).hexdigest()[:8]


def ensure_built(output: Path | None = None, vendor: Path = VENDOR,
                 frozen: bool = False, bits32: bool = False) -> Path:
    """Return the path of the built binary, building it first when an input changed; with
    `frozen`, the host code is frozen in (firmware/manifest.py); with `bits32`, as 32-bit
    code."""
    output = output or default_output(frozen, bits32)
    binary = output / "micropython"
    stamp = output / "micropython.inputs"
    wanted = inputs_digest(frozen, bits32)
    if binary.exists() and stamp.exists() and stamp.read_text() == wanted:
        return binary
    check_tools()
    if bits32:
        check_32bit_compiler()
    output.mkdir(parents=True, exist_ok=True)
    # the default builds share the plain one's sources (and mpy-cross); each has its own port
    # build folder
    defaults = (FROZEN_OUTPUT, OUTPUT_32, FROZEN_OUTPUT_32)
    src = (OUTPUT if output in defaults else output) / "src"
    mpy = source_tree(MICROPYTHON, vendor, src)
    wasm3 = wasm3_tree(vendor, src)
    # The manifest step wants micropython-lib, a submodule the pinned sources do not carry.
    readme = mpy / "lib" / "micropython-lib" / "README.md"
    readme.parent.mkdir(parents=True, exist_ok=True)
    readme.touch()
    manifest = output / "manifest.py"
    manifest.write_text(frozen_manifest() if frozen else MANIFEST)
    log = output / "build.log"
    log.write_text("")
    _say("building %sMicroPython with the wasm3 module into %s (about a minute)"
         % ("32-bit " if bits32 else "", binary))
    run_make(["-C", str(mpy / "mpy-cross")], log, "mpy-cross (1 of 2)")
    flags = make_flags(bits32)
    build = build_folder("build-frozen" if frozen else "build", flags)
    run_make(["-C", str(mpy / "ports" / "unix"), "BUILD=" + build, *flags,
           "FROZEN_MANIFEST=%s" % manifest, "USER_C_MODULES=%s" % CMODULES,
           "WASM3_DIR=%s" % wasm3], log, "the unix port with wasm3 (2 of 2)")
    shutil.copy2(mpy / "ports" / "unix" / build / "micropython", binary)
    stamp.write_text(wanted)
    return binary


def board_build() -> Path:
    """The build that stands in for the board: 32-bit, as an ESP32 is."""
    return ensure_built(bits32=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgecli.mpbuild", description=__doc__)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--vendor", type=Path, default=VENDOR)
    parser.add_argument("--frozen", action="store_true",
                        help="freeze the host code of firmware/ and shared/ into the binary")
    parser.add_argument("--32bit", dest="bits32", action="store_true",
                        help="build 32-bit code, as the board's (needs gcc-multilib)")
    args = parser.parse_args(argv)
    try:
        output = args.output.resolve() if args.output else None
        print(ensure_built(output, args.vendor.resolve(), args.frozen, args.bits32))
    except MicroPythonBuildError as exc:
        _say(str(exc))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
