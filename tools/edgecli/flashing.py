"""Writing a firmware image to a board through esptool (as a library), after checking it fits.

An image is checked before anything is written: the chip its header names, the chip esptool
finds on the port and the profile's chip must agree, and an edgehost image's manifest must name
the profile given and match the image's hash. A stock MicroPython image (no manifest) is
written too, with a note that the board then has no wasm3 engine.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgecli import firmware, profiles, serialports

HEADER_MAGIC = 0xE9  # every ESP image (bootloader and app) starts with it
CHIP_ID_AT = 12  # the extended header's chip id, after the 8-byte common header and 4 bytes


class FlashError(RuntimeError):
    """The image cannot (or should not) be written; the message is one line saying why."""


@dataclass
class CheckedImage:
    path: Path
    chip: str
    offset: int
    manifest: dict[str, Any] | None
    notes: list[str]


def _chip_ids() -> dict[int, str]:
    from esptool.targets import CHIP_DEFS

    return {cls.IMAGE_CHIP_ID: name for name, cls in CHIP_DEFS.items()
            if getattr(cls, "IMAGE_CHIP_ID", None) is not None}


def image_chip(path: Path) -> str:
    """The chip an ESP image is built for (its header), checked by loading it with esptool."""
    from esptool.bin_image import LoadFirmwareImage
    from esptool.util import FatalError

    try:
        head = path.read_bytes()[:CHIP_ID_AT + 2]
    except OSError as exc:
        raise FlashError("image %s: cannot read it (%s)" % (path, exc.strerror)) from None
    if len(head) < CHIP_ID_AT + 2 or head[0] != HEADER_MAGIC:
        raise FlashError("image %s: not an ESP32 firmware image (no 0xE9 header at its start)"
                         % path)
    chip_id = struct.unpack_from("<H", head, CHIP_ID_AT)[0]
    chip = _chip_ids().get(chip_id)
    if chip is None:
        raise FlashError("image %s: its header names chip id %d, which esptool does not know"
                         % (path, chip_id))
    try:
        LoadFirmwareImage(chip, str(path))
    except (FatalError, struct.error, ValueError) as exc:
        raise FlashError("image %s: esptool cannot read it as an %s image (%s)"
                         % (path, chip, exc)) from None
    return chip


def check_image(path: Path, profile: profiles.Profile, board_chip: str | None) -> CheckedImage:
    """Refuse an image built for another chip or profile, naming both; `board_chip` is what
    esptool found on the port (None before it is asked)."""
    chip = image_chip(path)
    if chip != profile.chip:
        raise FlashError("image %s is built for an %s, but profile %s is an %s"
                         % (path, chip, profile.name, profile.chip))
    if board_chip is not None and board_chip != chip:
        raise FlashError("image %s is built for an %s, but the board is an %s; build or pick "
                         "the image for that chip" % (path, chip, board_chip))
    notes: list[str] = []
    manifest_file = firmware.manifest_path(path)
    manifest = None
    if manifest_file.exists():
        try:
            manifest = json.loads(manifest_file.read_text())
        except ValueError:
            raise FlashError("manifest %s: not JSON" % manifest_file) from None
        if not isinstance(manifest, dict) or manifest.get("kind") != firmware.MANIFEST_KIND:
            raise FlashError("manifest %s: not an edgehost firmware manifest" % manifest_file)
        if manifest.get("profile") != profile.name:
            raise FlashError("image %s was built for profile %s, not %s"
                             % (path, manifest.get("profile"), profile.name))
        found = firmware.file_sha256(path)
        if manifest.get("image_sha256") != found:
            raise FlashError("image %s: SHA-256 %s… is not the %s… its manifest %s names; "
                             "rebuild it" % (path, found[:12],
                                             str(manifest.get("image_sha256"))[:12],
                                             manifest_file))
        offset = int(manifest.get("offset", 0))
    else:
        notes.append("%s has no edgehost manifest: taken as a stock MicroPython image; that "
                     "board has no wasm3 engine, so it cannot run actors until an edgehost image "
                     "is flashed" % path.name)
        offset = firmware.IMAGE_OFFSET.get(chip, 0)
    return CheckedImage(path, chip, offset, manifest, notes)


def chip_name(esp: Any) -> str:
    """esptool's CHIP_NAME ("ESP32-S3") as a profile names it ("esp32s3")."""
    return esp.CHIP_NAME.lower().replace("-", "")


def open_port_error(port: str, exc: Exception) -> FlashError:
    text = str(exc)
    trouble = serialports.port_trouble(port, text)
    if trouble is None and "could not open" in text.lower():
        trouble = serialports.open_error(port)  # esptool's words do not say why: ask pyserial
    if trouble is not None:
        return FlashError("cannot reach a board on %s: %s" % (port, trouble))
    detail = (text.splitlines() or [""])[0][:120]
    # esptool's own words where they say something (not a bare attribute name)
    return FlashError("cannot reach a board on %s: no ESP32 answered: hold BOOT, press RESET, "
                      "release BOOT, and try again%s"
                      % (port, " (%s)" % detail if " " in detail else ""))


def flash(port: str, profile: profiles.Profile, image: Path, baud: int = 460800,
          connect_attempts: int = 7, say: Any = print, erase: bool = False) -> CheckedImage:
    """Detect the chip on `port`, check `image` against it and the profile, write (after
    erasing the whole flash, filesystem included, with `erase`), verify, and reset the board."""
    from esptool import cmds
    from esptool.util import FatalError
    from serial import SerialException

    check_image(image, profile, None)  # a wrong image is refused before the port is opened
    if "://" not in port and not os.path.exists(port):
        raise FlashError("cannot reach a board on %s: no such port %s: see `edgehost ports`"
                         % (port, port))
    try:
        esp = cmds.detect_chip(port, 115200, connect_attempts=connect_attempts)
    except (FatalError, SerialException, OSError) as exc:
        raise open_port_error(port, exc) from None
    try:
        checked = check_image(image, profile, chip_name(esp))
        for text in checked.notes:
            say(text)
        say("writing %s to the %s on %s at 0x%x" % (image.name, esp.CHIP_NAME, port,
                                                   checked.offset))
        esp = cmds.run_stub(esp)
        if baud != 115200:
            esp.change_baud(baud)
        cmds.attach_flash(esp)
        if erase:
            say("erasing the whole flash: config.json and the actors go too")
            cmds.erase_flash(esp)
        cmds.write_flash(esp, [(checked.offset, str(image))])
        cmds.verify_flash(esp, [(checked.offset, str(image))])
        cmds.reset_chip(esp, "hard-reset")
        return checked
    except FatalError as exc:
        raise FlashError("flashing %s on %s failed: %s" % (image, port, exc)) from None
    finally:
        esp._port.close()
