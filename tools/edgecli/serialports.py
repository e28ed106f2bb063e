"""The machine's serial ports, from pyserial's listing, with what ESP32 boards carry marked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from serial.tools import list_ports

# USB-to-UART bridges found on ESP32 development boards, by (VID, PID)
BRIDGES = {
    (0x10C4, 0xEA60): "Silicon Labs CP210x bridge",
    (0x10C4, 0xEA70): "Silicon Labs CP2105 bridge",
    (0x1A86, 0x7523): "WCH CH340 bridge",
    (0x1A86, 0x55D4): "WCH CH9102 bridge",
    (0x1A86, 0x55D3): "WCH CH343 bridge",
    (0x0403, 0x6001): "FTDI FT232R bridge",
    (0x0403, 0x6010): "FTDI FT2232 bridge",
    (0x0403, 0x6014): "FTDI FT232H bridge",
    (0x0403, 0x6015): "FTDI FT231X bridge",
}
ESPRESSIF_VID = 0x303A  # the chip's own USB (USB-Serial/JTAG, or TinyUSB CDC)


@dataclass
class SerialPort:
    device: str
    vid: int | None
    pid: int | None
    description: str
    kind: str  # "bridge", "espressif" or "other"
    what: str  # e.g. "Silicon Labs CP210x bridge"
    expected: bool = False  # the USB ids the given profile names

    @property
    def usb_id(self) -> str:
        return "%04x:%04x" % (self.vid, self.pid) if self.vid is not None else "-"

    def as_json(self) -> dict[str, Any]:
        return {"device": self.device, "vid": self.vid, "pid": self.pid,
                "usb_id": self.usb_id if self.vid is not None else None,
                "description": self.description, "kind": self.kind, "what": self.what,
                "expected": self.expected}


def classify(info: Any, profile_usb: tuple[int, int] | None = None) -> SerialPort:
    """One port of pyserial's listing (a ListPortInfo) as a SerialPort."""
    vid, pid = info.vid, info.pid
    if vid is None:
        kind, what = "other", "not USB"
    elif (vid, pid) in BRIDGES:
        kind, what = "bridge", BRIDGES[(vid, pid)]
    elif vid == ESPRESSIF_VID:
        kind, what = "espressif", "Espressif native USB"
    else:
        kind, what = "other", "USB device"
    description = info.description if info.description not in (None, "n/a") else ""
    return SerialPort(info.device, vid, pid, description, kind, what,
                      profile_usb is not None and (vid, pid) == profile_usb)


def profile_usb_ids(usb: dict[str, str] | None) -> tuple[int, int] | None:
    """A profile's `usb` object ({"vid": "0x303a", "pid": "0x1001"}) as two numbers."""
    if not usb:
        return None
    return int(usb["vid"], 16), int(usb["pid"], 16)


def list_serial_ports(profile_usb: tuple[int, int] | None = None,
                      listing: list[Any] | None = None) -> list[SerialPort]:
    """Every serial port, the likely boards first."""
    found = [classify(info, profile_usb)
             for info in (list_ports.comports() if listing is None else listing)]
    order = {"espressif": 0, "bridge": 1, "other": 2}
    return sorted(found, key=lambda p: (not p.expected, order[p.kind], p.device))


AUTO = "auto"  # --port auto: the one board plugged in, as mpremote's `connect auto`


class NoSingleBoard(Exception):
    """--port auto found no board, or several; says which and what to give instead."""


def find_board_port(listing: list[Any] | None = None) -> str:
    """The device of the one board plugged in: the one port that is an ESP32 board's USB
    bridge or an Espressif chip's own USB. NoSingleBoard when there is none, or several."""
    boards = [port.device for port in list_serial_ports(None, listing) if port.kind != "other"]
    if len(boards) == 1:
        return boards[0]
    if not boards:
        raise NoSingleBoard("--port auto: no board is plugged in (no ESP32 USB bridge or "
                            "Espressif USB port; see edgehost ports): plug one in, or give "
                            "--port PATH")
    raise NoSingleBoard("--port auto: %d boards are plugged in (%s): give --port with the one "
                        "meant" % (len(boards), ", ".join(boards)))


def port_trouble(port: str, text: str) -> str | None:
    """What a user can do about a serial port that would not open, from the error's text;
    None when the text does not say."""
    lowered = text.lower()
    if "permission denied" in lowered or "errno 13" in lowered:
        return ("no permission on %s: add yourself to its group (dialout, or uucp) and log in "
                "again" % port)
    if "busy" in lowered or "lock" in lowered or "errno 16" in lowered:
        return ("%s is busy: close the program that holds it (a serial monitor, a gateway, "
                "edgehost up)" % port)
    if "no such file" in lowered or "errno 2" in lowered:
        return "no such port %s: see `edgehost ports`" % port
    return None


def open_error(port: str) -> str | None:
    """Why `port` does not open, as port_trouble says it; None when it opens."""
    import serial

    try:
        serial.serial_for_url(port, exclusive=True).close()
    except (serial.SerialException, OSError, ValueError) as exc:
        text = str(exc)
        return port_trouble(port, text) or "%s would not open (%s)" % (
            port, (text.splitlines() or ["?"])[0][:120])
    return None
