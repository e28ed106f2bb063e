"""The board's firmware for one profile: MicroPython's ESP32 port, wasm3 and the frozen host code.

`plan(profile)` composes everything ESP-IDF's build is given (a board folder of our own that
takes MicroPython's generic board for the chip and adds an sdkconfig fragment for the profile,
the freeze manifest, the `idf.py` command line); `build(...)` makes the port's changes of
edgecli.portpatch in the pinned sources, runs the build in the active ESP-IDF environment or in
ESP-IDF's official container image, and writes the image with a manifest beside it (profile,
chip, versions, hashes of the inputs), which `edgehost flash` checks.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from edgecli import mpbuild, packagedata, portpatch, profiles
from edgemodule.region import PARTITION

BUILD_ROOT = packagedata.build_dir() / "firmware"
# MicroPython v1.28.0's ports/esp32/README.md recommends ESP-IDF v5.5.1 and supports these
IDF_VERSION = "v5.5.1"
IDF_SUPPORTED = ("v5.3", "v5.4", "v5.4.1", "v5.4.2", "v5.5.1")
IDF_IMAGE = "espressif/idf:" + IDF_VERSION
IDF_GUIDE = "https://docs.espressif.com/projects/esp-idf/en/%s/esp32/get-started/" % IDF_VERSION
MICROPYTHON_VERSION = "1.28.0"
CONTAINER_RUNTIMES = ("docker", "podman")
FLASH_SIZES_MB = (2, 4, 8, 16, 32)
MANIFEST_KIND = "edgehost-firmware"
# Where the merged image (bootloader, partition table, app) starts in flash, by chip
IMAGE_OFFSET = {"esp32": 0x1000, "esp32s2": 0x1000}
# The partition table: MicroPython's own (partitions-4MiBplus.csv) up to the end of its app
# partition, then the module region; MicroPython's main.c gives the flash after the last
# partition to the "vfs" filesystem it mounts at /
APP_END = 0x200000
MIN_FILESYSTEM_BYTES = 256 * 1024  # config.json, the profiles, the actors' records, logs
# The ESP32 port needs these submodules, which the pinned archive does not carry
ESP32_SUBMODULE_STEP = "-D UPDATE_SUBMODULES=1 reconfigure"


class FirmwareError(RuntimeError):
    """The firmware cannot be built (or checked); the message is one line saying why."""


@dataclass
class BuildPlan:
    """What one profile's firmware build is made of; paths are absolute."""

    profile: profiles.Profile
    board: str  # MicroPython's board for the chip, e.g. ESP32_GENERIC_S3
    variant: str  # its variant, e.g. SPIRAM_OCT, or ""
    micropython: Path  # a git checkout of MicroPython at the pinned commit
    wasm3: Path
    build_dir: Path
    board_dir: Path  # our board folder, generated
    manifest: Path  # the freeze manifest the build is given
    image: Path  # where the finished image goes
    files: dict[str, str] = field(default_factory=dict)  # generated file name -> text

    @property
    def port_dir(self) -> Path:
        return self.micropython / "ports" / "esp32"

    def idf_args(self, action: str = "build") -> list[str]:
        """The `idf.py` command line (without the program name)."""
        return ["-C", str(self.port_dir), "-B", str(self.build_dir),
                "-D", "MICROPY_BOARD=EDGEHOST",
                "-D", "MICROPY_BOARD_DIR=%s" % self.board_dir,
                "-D", "USER_C_MODULES=%s" % (mpbuild.CMODULES / "wasm3" / "micropython.cmake"),
                "-D", "WASM3_DIR=%s" % self.wasm3,
                "-D", "MICROPY_FROZEN_MANIFEST=%s" % self.manifest, *action.split()]


    def makeimg_args(self) -> list[str]:
        """MicroPython's makeimg.py (what the port's Makefile runs after idf.py build): the
        bootloader, partition table and app merged into firmware.bin."""
        b = self.build_dir
        return [str(self.port_dir / "makeimg.py"), str(b / "sdkconfig"),
                str(b / "bootloader" / "bootloader.bin"),
                str(b / "partition_table" / "partition-table.bin"), str(b / "micropython.bin"),
                str(b / "firmware.bin"), str(b / "micropython.uf2")]


@dataclass
class IdfRunner:
    """How idf.py and ESP-IDF's Python are run here: directly, or inside the container."""

    prefix: list[str]  # empty, or the container runtime's `run … IMAGE`
    idf_py: str
    what: str  # said to the user: "ESP-IDF v5.5.1 (/opt/esp-idf)" or "docker image …"

    def idf(self, args: list[str]) -> list[str]:
        return [*self.prefix, self.idf_py, *args]

    def python(self, args: list[str]) -> list[str]:
        return [*self.prefix, "python", *args]  # ESP-IDF's Python, with IDF_PATH set


def firmware_settings(name: str) -> tuple[str, str]:
    """The MicroPython board and variant a profile's `firmware` object names."""
    settings = profiles.profile_json(name).get("firmware")
    if not isinstance(settings, dict) or not isinstance(settings.get("board"), str):
        raise FirmwareError("profile %s: %s has no firmware.board (MicroPython's board for the "
                            "chip, e.g. ESP32_GENERIC_S3)" % (name, profiles.profile_file(name)))
    variant = settings.get("variant", "")
    if not isinstance(variant, str):
        raise FirmwareError("profile %s: firmware.variant must be a string" % name)
    return settings["board"], variant


def sdkconfig_fragment(profile: profiles.Profile) -> str:
    """ESP-IDF settings of the profile, applied after the generic board's."""
    megabytes = profile.flash_bytes // (1 << 20)
    if megabytes not in FLASH_SIZES_MB or profile.flash_bytes % (1 << 20):
        raise FirmwareError("profile %s: flash_bytes %d is not a flash size ESP-IDF knows (%s MiB)"
                            % (profile.name, profile.flash_bytes,
                               ", ".join(map(str, FLASH_SIZES_MB))))
    lines = ["# edgehost: profile %s (%s)" % (profile.name, profile.board),
             "CONFIG_ESPTOOLPY_FLASHSIZE_%dMB=y" % megabytes]
    for size in FLASH_SIZES_MB:
        if size != megabytes:
            lines.append("# CONFIG_ESPTOOLPY_FLASHSIZE_%dMB is not set" % size)
    lines.append("CONFIG_SPIRAM=y" if profile.psram_bytes else "# CONFIG_SPIRAM is not set")
    return "\n".join(lines) + "\n"


def partition_table(profile: profiles.Profile) -> str:
    """The profile's partition table: the module region (edgemodule.region), a data partition
    the board maps whole, after the app, and the filesystem after it."""
    region = profile.region_bytes()
    filesystem = profile.flash_bytes - APP_END - region
    if filesystem < 0:
        raise FirmwareError(
            "profile %s: limits.module_flash_bytes %d needs a module region of %d bytes, which "
            "does not fit its partition table: %d bytes of its %d MiB of flash follow the app "
            "(from 0x%X)" % (profile.name, profile.limits["module_flash_bytes"], region,
                             profile.flash_bytes - APP_END, profile.flash_bytes >> 20, APP_END))
    if filesystem < MIN_FILESYSTEM_BYTES:
        raise FirmwareError(
            "profile %s: limits.module_flash_bytes %d leaves %d KiB of its %d MiB of flash for "
            "the filesystem, less than %d KiB" % (
                profile.name, profile.limits["module_flash_bytes"], filesystem // 1024,
                profile.flash_bytes >> 20, MIN_FILESYSTEM_BYTES // 1024))
    return "\n".join([
        "# edgehost: profile %s; the filesystem (vfs) takes the flash after the last partition"
        % profile.name,
        "# Name,   Type, SubType, Offset,  Size, Flags",
        "nvs,      data, nvs,     0x9000,  0x6000,",
        "phy_init, data, phy,     0xf000,  0x1000,",
        "factory,  app,  factory, 0x10000, 0x%X," % (APP_END - 0x10000),
        "%s,  data, undefined, 0x%X, 0x%X," % (PARTITION, APP_END, region),
    ]) + "\n"


def board_files(plan: BuildPlan) -> dict[str, str]:
    """Our board folder: MicroPython's generic board for the chip, plus the profile's
    sdkconfig fragment and partition table."""
    generic = plan.port_dir / "boards" / plan.board
    cmake = ["# edgehost: %s on MicroPython's %s%s" % (plan.profile.name, plan.board,
                                                       " (%s)" % plan.variant if plan.variant
                                                       else ""),
             "include(%s)" % (generic / "mpconfigboard.cmake")]
    if plan.variant:
        cmake.append("include(%s)" % (generic / ("mpconfigvariant_%s.cmake" % plan.variant)))
    cmake.append("list(APPEND SDKCONFIG_DEFAULTS %s)" % (plan.board_dir / "sdkconfig.edgehost"))
    table = plan.board_dir / "partitions-edgehost.csv"
    return {
        "mpconfigboard.cmake": "\n".join(cmake) + "\n",
        "mpconfigboard.h": '#include "%s"\n' % (generic / "mpconfigboard.h")
        + portpatch.config_defines(),
        "sdkconfig.edgehost": sdkconfig_fragment(plan.profile)
        + 'CONFIG_PARTITION_TABLE_CUSTOM=y\nCONFIG_PARTITION_TABLE_CUSTOM_FILENAME="%s"\n' % table,
        table.name: partition_table(plan.profile),
    }


def freeze_manifest() -> str:
    """The port's essentials (_boot.py mounts the filesystem), asyncio, then the host code."""
    return ('freeze("$(PORT_DIR)/modules")\ninclude("$(MPY_DIR)/extmod/asyncio")\n'
            'include("%s")\n' % mpbuild.HOST_MANIFEST)


def plan(name: str, micropython: Path | None = None, wasm3: Path | None = None,
         output: Path | None = None) -> BuildPlan:
    """The build of profile `name`; the source trees default to those under build/firmware/."""
    try:
        profile = profiles.profile(name)
    except profiles.ProfileError as exc:
        raise FirmwareError(str(exc)) from None
    board, variant = firmware_settings(name)
    build_dir = BUILD_ROOT / name
    result = BuildPlan(profile, board, variant,
                       micropython or BUILD_ROOT / "src" / "micropython",
                       wasm3 or BUILD_ROOT / "src" / "wasm3",
                       build_dir, build_dir / "board", build_dir / "manifest.py",
                       output or BUILD_ROOT / ("edgehost-%s.bin" % name))
    result.files = {str(result.board_dir / k): v for k, v in board_files(result).items()}
    result.files[str(result.manifest)] = freeze_manifest()
    return result


def inputs(plan: BuildPlan) -> dict[str, str]:
    """SHA-256 of every input from this checkout, with the pins of the sources."""
    found = {"micropython": "%s %s" % (MICROPYTHON_VERSION, mpbuild.MICROPYTHON.commit),
             "wasm3": mpbuild.WASM3.commit}
    digest = hashlib.sha256()
    for path in mpbuild.frozen_files():
        digest.update(mpbuild.frozen_name(path).encode() + b"\0" + path.read_bytes())
    found["frozen_code"] = digest.hexdigest()
    found["wasm3_module"] = mpbuild.inputs_digest()
    found["generated"] = hashlib.sha256(json.dumps(plan.files, sort_keys=True).encode()
                                        ).hexdigest()
    found["port_patches"] = portpatch.digest()
    return found


# --- where idf.py comes from


def idf_version(idf_path: str) -> str:
    """The version of the ESP-IDF at `idf_path` (its version.txt, else `git describe`)."""
    text = Path(idf_path, "version.txt")
    if text.exists():
        return text.read_text().strip()
    done = subprocess.run(["git", "-C", idf_path, "describe", "--tags"], capture_output=True,
                          text=True)
    return done.stdout.strip() or "unknown"


def idf_runner(plan: BuildPlan, environ: dict[str, str] | None = None) -> IdfRunner:
    """How idf.py runs here.

    The active ESP-IDF environment wins; else a container runtime with ESP-IDF's image; else
    FirmwareError says in one line what is missing and how to get it."""
    environ = os.environ if environ is None else environ
    path = environ.get("PATH", "")
    idf_path = environ.get("IDF_PATH")
    idf_py = shutil.which("idf.py", path=path)
    if idf_path and idf_py:
        version = idf_version(idf_path)
        if not version.startswith(IDF_SUPPORTED):
            raise FirmwareError("ESP-IDF %s at %s: MicroPython %s supports %s (recommended %s); "
                                "activate one of those" % (version, idf_path,
                                                           MICROPYTHON_VERSION,
                                                           ", ".join(IDF_SUPPORTED),
                                                           IDF_VERSION))
        return IdfRunner([], idf_py, "ESP-IDF %s (%s)" % (version, idf_path))
    silent = []
    for runtime in CONTAINER_RUNTIMES:
        found = shutil.which(runtime, path=path)
        if found and container_runtime_answers(found):
            # the container sees the build folder and what it reads, at the same paths
            mounts = [packagedata.build_dir(), *mpbuild.FROZEN_DIRS]
            return IdfRunner([found, "run", "--rm",
                              *(arg for m in mounts for arg in ("-v", "%s:%s" % (m, m))),
                              "-u", "%d:%d" % (os.getuid(), os.getgid()), "-e", "HOME=/tmp",
                              "-w", str(packagedata.build_dir()), IDF_IMAGE], "idf.py",
                             "%s image %s" % (runtime, IDF_IMAGE))
        if found:
            silent.append(runtime)
    where = ("; %s is installed but its service does not answer (start it)"
             % " and ".join(silent)) if silent else ""
    raise FirmwareError(
        "building firmware for %s needs ESP-IDF %s, and none is here: activate one "
        "(. $IDF_PATH/export.sh; install it: %s) or run docker or podman to use the "
        "image %s%s" % (plan.profile.name, IDF_VERSION, IDF_GUIDE, IDF_IMAGE, where))


def container_runtime_answers(program: str) -> bool:
    """Whether a container runtime can run containers now (docker's client alone cannot)."""
    try:
        done = subprocess.run([program, "info"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


# --- the build


def _say(text: str) -> None:
    print("edgehost: " + text, file=sys.stderr, flush=True)


def _run(cmd: list[str], log: Path, what: str) -> None:
    with log.open("a") as out:
        out.write("$ %s\n" % " ".join(cmd))
        out.flush()
        done = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        tail = log.read_text().strip().splitlines()[-1:]
        raise FirmwareError("%s failed (exit %d): %s; the whole log is %s"
                            % (what, done.returncode, (tail or ["?"])[0], log))


def _sources(plan: BuildPlan, runner: IdfRunner, log: Path) -> None:
    """A git checkout of MicroPython at the pin with the ESP32 port's submodules (the archive
    has none), and wasm3's tree with its patches."""
    mark = plan.micropython / ".edgehost-esp32-ready"
    if not (mark.exists() and mark.read_text() == mpbuild.MICROPYTHON.commit):
        shutil.rmtree(plan.micropython, ignore_errors=True)
        plan.micropython.parent.mkdir(parents=True, exist_ok=True)
        try:
            mpbuild._fetch_upstream(mpbuild.MICROPYTHON, mpbuild.VENDOR, plan.micropython)
        except mpbuild.MicroPythonBuildError as exc:
            raise FirmwareError(str(exc)) from None
        _say("fetching the ESP32 port's submodules")
        _run(runner.idf(plan.idf_args(ESP32_SUBMODULE_STEP)), log, "idf.py submodules")
        mark.write_text(mpbuild.MICROPYTHON.commit)
    try:  # reused while its pin and its patches are the same
        mpbuild.wasm3_tree(mpbuild.VENDOR, plan.wasm3.parent)
    except mpbuild.MicroPythonBuildError as exc:
        raise FirmwareError(str(exc)) from None


def patch_port(micropython: Path) -> None:
    """Make edgecli.portpatch's changes in the checkout (again: a reused one has them)."""
    try:
        portpatch.apply(micropython)
    except portpatch.PatchError as exc:
        raise FirmwareError(str(exc)) from None


def write_files(plan: BuildPlan) -> None:
    for name, text in plan.files.items():
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        Path(name).write_text(text)


def file_sha256(path: Path) -> str:
    return mpbuild._file_sha256(path)


def build(name: str, output: Path | None = None,
          environ: dict[str, str] | None = None) -> tuple[Path, dict]:
    """Build profile `name`'s image; returns its path and its manifest."""
    the_plan = plan(name, output=output)
    runner = idf_runner(the_plan, environ)
    the_plan.build_dir.mkdir(parents=True, exist_ok=True)
    log = the_plan.build_dir / "build.log"
    log.write_text("")
    _say("building the firmware for %s with %s (several minutes; log: %s)"
         % (name, runner.what, log))
    write_files(the_plan)
    _sources(the_plan, runner, log)
    patch_port(the_plan.micropython)
    _run(runner.idf(the_plan.idf_args()), log, "idf.py build")
    _run(runner.python(the_plan.makeimg_args()), log, "makeimg.py")
    built = the_plan.build_dir / "firmware.bin"
    if not built.exists():
        raise FirmwareError("idf.py build finished without %s; see %s" % (built, log))
    the_plan.image.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(built, the_plan.image)
    manifest = image_manifest(the_plan, idf=runner.what)
    manifest_path(the_plan.image).write_text(json.dumps(manifest, indent=2) + "\n")
    return the_plan.image, manifest


def image_manifest(plan: BuildPlan, idf: str) -> dict:
    """What `edgehost flash` checks before it writes the image."""
    return {"kind": MANIFEST_KIND, "profile": plan.profile.name, "chip": plan.profile.chip,
            "board": plan.board, "variant": plan.variant, "idf": idf,
            "offset": IMAGE_OFFSET.get(plan.profile.chip, 0),
            "image_sha256": file_sha256(plan.image), "inputs": inputs(plan),
            "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def manifest_path(image: Path) -> Path:
    """The manifest beside an image: edgehost-NAME.bin -> edgehost-NAME.json."""
    return image.with_suffix(".json")
