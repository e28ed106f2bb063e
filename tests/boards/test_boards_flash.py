"""`edgehost flash`: images made with esptool's own image classes (the ESP32 itself cannot be
here), checked against the profile and the chip; esptool run on ports where no chip answers."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import serial
from esptool import bin_image

from edgecli import firmware, flashing, profiles

IMAGE_CLASSES = {"esp32s3": bin_image.ESP32S3FirmwareImage,
                 "esp32c3": bin_image.ESP32C3FirmwareImage,
                 "esp32": bin_image.ESP32FirmwareImage}
ENTRY = {"esp32s3": 0x40380000, "esp32c3": 0x40380000, "esp32": 0x40080000}


def esp_image(path: Path, chip: str, manifest: dict | None = None) -> Path:
    """An app image for `chip` as esptool writes one, with an edgehost manifest if given."""
    image = IMAGE_CLASSES[chip]()
    image.entrypoint = ENTRY[chip]
    image.segments = [bin_image.ELFSection(b".iram0.text", ENTRY[chip], b"\x13\0\0\0" * 64, 0)]
    image.save(str(path))
    if manifest is not None:
        manifest = {"kind": firmware.MANIFEST_KIND, "offset": 0,
                    "image_sha256": hashlib.sha256(path.read_bytes()).hexdigest(), **manifest}
        firmware.manifest_path(path).write_text(json.dumps(manifest))
    return path


@pytest.fixture
def s3_profile() -> profiles.Profile:
    return profiles.profile("esp32-s3-devkitc-n8r8")


def test_an_edgehost_image_for_the_profile_and_chip_passes(tmp_path, s3_profile):
    image = esp_image(tmp_path / "edgehost-s3.bin", "esp32s3", {"profile": s3_profile.name})
    checked = flashing.check_image(image, s3_profile, "esp32s3")
    assert (checked.chip, checked.offset, checked.notes) == ("esp32s3", 0, [])


def test_an_image_for_another_chip_than_the_profiles_is_refused_naming_both(tmp_path,
                                                                            s3_profile):
    image = esp_image(tmp_path / "c3.bin", "esp32c3")
    with pytest.raises(flashing.FlashError) as caught:
        flashing.check_image(image, s3_profile, None)
    assert str(caught.value) == ("image %s is built for an esp32c3, but profile "
                                 "esp32-s3-devkitc-n8r8 is an esp32s3" % image)


def test_an_image_for_another_chip_than_the_boards_is_refused_naming_both(tmp_path):
    image = esp_image(tmp_path / "esp32.bin", "esp32")
    with pytest.raises(flashing.FlashError) as caught:
        flashing.check_image(image, profiles.profile("esp32-devkitc"), "esp32s3")
    assert str(caught.value) == ("image %s is built for an esp32, but the board is an esp32s3; "
                                 "build or pick the image for that chip" % image)


def test_an_image_built_for_another_profile_of_the_same_chip_is_refused(tmp_path):
    image = esp_image(tmp_path / "wrover.bin", "esp32", {"profile": "esp32-wrover-e"})
    with pytest.raises(flashing.FlashError) as caught:
        flashing.check_image(image, profiles.profile("esp32-devkitc"), "esp32")
    assert str(caught.value) == ("image %s was built for profile esp32-wrover-e, not "
                                 "esp32-devkitc" % image)


def test_an_image_changed_after_its_manifest_was_written_is_refused(tmp_path, s3_profile):
    image = esp_image(tmp_path / "s3.bin", "esp32s3", {"profile": s3_profile.name})
    image.write_bytes(image.read_bytes() + b"\0" * 16)
    with pytest.raises(flashing.FlashError, match="its manifest .* names; rebuild it"):
        flashing.check_image(image, s3_profile, "esp32s3")


def test_a_stock_micropython_image_is_taken_with_a_note_that_the_engine_is_missing(tmp_path):
    image = esp_image(tmp_path / "ESP32_GENERIC-v1.28.0.bin", "esp32")
    checked = flashing.check_image(image, profiles.profile("esp32-devkitc"), "esp32")
    assert checked.offset == 0x1000  # the ESP32's bootloader sits at 0x1000
    assert checked.manifest is None
    assert checked.notes == ["ESP32_GENERIC-v1.28.0.bin has no edgehost manifest: taken as a "
                             "stock MicroPython image; that board has no wasm3 engine, so it "
                             "cannot run actors until an edgehost image is flashed"]


@pytest.mark.parametrize("content, error", [
    (b"", "not an ESP32 firmware image (no 0xE9 header at its start)"),
    (b"\x7fELF" + bytes(60), "not an ESP32 firmware image (no 0xE9 header at its start)"),
    (b"\xe9\x01\0\0" + bytes(8) + b"\xee\xee" + bytes(16),
     "its header names chip id 61166, which esptool does not know"),
])
def test_what_is_not_an_esp_image_is_refused_in_one_line(tmp_path, s3_profile, content, error):
    path = tmp_path / "thing.bin"
    path.write_bytes(content)
    with pytest.raises(flashing.FlashError) as caught:
        flashing.check_image(path, s3_profile, None)
    assert str(caught.value) == "image %s: %s" % (path, error)


def test_flash_refuses_a_wrong_image_before_it_opens_the_port(edgehost, tmp_path):
    image = esp_image(tmp_path / "c3.bin", "esp32c3")
    done = edgehost("flash", "--port", tmp_path / "no-port", "--profile",
                    "esp32-s3-devkitc-n8r8", image)
    assert (done.code, done.err) == (1, "edgehost: image %s is built for an esp32c3, but profile "
                                        "esp32-s3-devkitc-n8r8 is an esp32s3\n" % image)


def test_flash_without_an_image_names_the_build_command(edgehost, tmp_path):
    done = edgehost("flash", "--port", tmp_path / "no-port", "--profile", "esp32-c3-devkitm-1")
    assert done.code == 1
    assert done.err.endswith("not found; build it: edgehost firmware build --profile "
                             "esp32-c3-devkitm-1\n")


def test_flash_to_a_port_that_is_not_there_says_so(edgehost, tmp_path):
    image = esp_image(tmp_path / "s3.bin", "esp32s3")
    done = edgehost("flash", "--port", "/dev/ttyNOSUCH", "--profile", "esp32-s3-devkitc-n8r8",
                    image)
    assert (done.code, done.err) == (1, "edgehost: cannot reach a board on /dev/ttyNOSUCH: no "
                                        "such port /dev/ttyNOSUCH: see `edgehost ports`\n")


def test_flash_where_no_chip_answers_says_how_to_enter_the_bootloader(edgehost, tmp_path):
    """A pseudo-terminal nobody answers on: esptool's real connect sequence gets no reply."""
    master, slave = os.openpty()
    try:
        image = esp_image(tmp_path / "s3.bin", "esp32s3")
        done = edgehost("flash", "--port", os.ttyname(slave), "--profile",
                        "esp32-s3-devkitc-n8r8", image, "--connect-attempts", "1")
    finally:
        os.close(slave)
        os.close(master)
    assert done.code == 1
    # before it, esptool warns that a pty has no RTS/DTR lines to reset a chip with
    ours = [line for line in done.err.splitlines() if line.startswith("edgehost:")]
    assert len(ours) == 1, done.err
    assert ours[0].startswith("edgehost: cannot reach a board on /dev/pts/")
    assert "no ESP32 answered: hold BOOT, press RESET, release BOOT, and try again" in ours[0]


def test_flash_to_a_port_another_program_holds_says_it_is_busy(edgehost, tmp_path):
    master, slave = os.openpty()
    path = os.ttyname(slave)
    held = serial.Serial(path, exclusive=True)
    try:
        image = esp_image(tmp_path / "s3.bin", "esp32s3")
        done = edgehost("flash", "--port", path, "--profile", "esp32-s3-devkitc-n8r8", image,
                        "--connect-attempts", "1")
    finally:
        held.close()
        os.close(slave)
        os.close(master)
    assert (done.code, done.err) == (1, "edgehost: cannot reach a board on %s: %s is busy: close "
                                        "the program that holds it (a serial monitor, a "
                                        "gateway, edgehost up)\n" % (path, path))


def test_a_serial_port_without_permission_gets_the_group_hint():
    error = flashing.open_port_error("/dev/ttyUSB0", serial.SerialException(
        "[Errno 13] could not open port /dev/ttyUSB0: [Errno 13] Permission denied: "
        "'/dev/ttyUSB0'"))
    assert "no permission on /dev/ttyUSB0: add yourself to its group (dialout" in str(error)
