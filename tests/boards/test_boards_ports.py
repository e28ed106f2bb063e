"""`edgehost ports`: pyserial's listing, with the bridges ESP32 boards carry marked."""

from __future__ import annotations

import json

import pytest
from serial.tools import list_ports
from serial.tools.list_ports_common import ListPortInfo

from edgecli import serialports


def usb_port(device: str, vid: int | None, pid: int | None, description: str = "n/a"):
    """A port as pyserial lists it (what a plugged-in board's USB side looks like)."""
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid, info.description = vid, pid, description
    return info


@pytest.mark.parametrize("vid, pid, kind, what", [
    (0x10C4, 0xEA60, "bridge", "Silicon Labs CP210x bridge"),
    (0x1A86, 0x7523, "bridge", "WCH CH340 bridge"),
    (0x1A86, 0x55D4, "bridge", "WCH CH9102 bridge"),
    (0x0403, 0x6001, "bridge", "FTDI FT232R bridge"),
    (0x303A, 0x1001, "espressif", "Espressif native USB"),
    (0x303A, 0x4001, "espressif", "Espressif native USB"),
    (0x2341, 0x0043, "other", "USB device"),
    (None, None, "other", "not USB"),
])
def test_each_port_is_named_for_what_it_is(vid, pid, kind, what):
    port = serialports.classify(usb_port("/dev/ttyX", vid, pid))
    assert (port.kind, port.what) == (kind, what)


def test_the_port_a_profile_expects_comes_first_and_is_marked():
    listing = [usb_port("/dev/ttyS0", None, None), usb_port("/dev/ttyUSB0", 0x10C4, 0xEA60),
               usb_port("/dev/ttyACM0", 0x303A, 0x1001, "USB JTAG/serial debug unit")]
    s3 = serialports.profile_usb_ids({"vid": "0x303a", "pid": "0x1001"})
    found = serialports.list_serial_ports(s3, listing)
    assert [(p.device, p.expected) for p in found] == [
        ("/dev/ttyACM0", True), ("/dev/ttyUSB0", False), ("/dev/ttyS0", False)]
    assert found[0].as_json() == {
        "device": "/dev/ttyACM0", "vid": 0x303A, "pid": 0x1001, "usb_id": "303a:1001",
        "description": "USB JTAG/serial debug unit", "kind": "espressif",
        "what": "Espressif native USB", "expected": True}


def test_ports_lists_what_pyserial_finds_on_this_machine(edgehost):
    done = edgehost("ports", "--json")
    assert done.code == 0, done
    listed = [port["device"] for port in json.loads(done.out)["ports"]]
    assert sorted(listed) == sorted(info.device for info in list_ports.comports())


def test_ports_for_an_unknown_profile_names_the_known_ones(edgehost):
    done = edgehost("ports", "--profile", "esp32-nope")
    assert done.code == 1
    assert done.err.startswith("edgehost: profile esp32-nope: not found in ")
    assert "esp32-s3-devkitc-n8r8" in done.err and len(done.err.splitlines()) == 1


def test_ports_prints_one_line_per_port_or_says_there_is_none(edgehost):
    done = edgehost("ports")
    assert done.code == 0, done
    devices = [info.device for info in list_ports.comports()]
    if not devices:
        assert done.out.startswith("no serial ports found: plug the board in")
    else:
        assert sorted(line.split()[0] for line in done.out.splitlines()) == sorted(devices)


def test_port_auto_finds_the_one_board_plugged_in_among_other_ports():
    listing = [usb_port("/dev/ttyS0", None, None), usb_port("/dev/ttyUSB0", 0x10C4, 0xEA60),
               usb_port("/dev/ttyACM3", 0x2341, 0x0043)]
    assert serialports.find_board_port(listing) == "/dev/ttyUSB0"


@pytest.mark.parametrize("boards, said", [
    ([], "--port auto: no board is plugged in (no ESP32 USB bridge or Espressif USB port; see "
         "edgehost ports): plug one in, or give --port PATH"),
    ([("/dev/ttyUSB0", 0x1A86, 0x7523), ("/dev/ttyACM0", 0x303A, 0x1001)],
     "--port auto: 2 boards are plugged in (/dev/ttyACM0, /dev/ttyUSB0): give --port with "
     "the one meant"),
])
def test_port_auto_with_no_board_or_several_says_which_and_what_to_give(boards, said):
    listing = [usb_port("/dev/ttyS0", None, None), *(usb_port(*b) for b in boards)]
    with pytest.raises(serialports.NoSingleBoard) as refused:
        serialports.find_board_port(listing)
    assert str(refused.value) == said


@pytest.mark.parametrize("command", [["deploy"], ["flash", "--profile", "esp32-devkitc"],
                                     ["board", "--port", "auto", "--key-file", "k", "info"]])
def test_a_command_without_a_port_looks_for_the_one_board_plugged_in(edgehost, command):
    if any(p.kind != "other" for p in serialports.list_serial_ports()):
        pytest.skip("a board is plugged into this machine")
    done = edgehost(*command)
    assert (done.code, done.out) == (1, "")
    assert done.err == ("edgehost: --port auto: no board is plugged in (no ESP32 USB bridge or "
                        "Espressif USB port; see edgehost ports): plug one in, or give --port "
                        "PATH\n")
