"""The board's CircuitPython (edgecli.cpbuild with tools/cpboard/): what board code meets there
is what a CircuitPython ESP32-S3 shows it, not what the unix port has."""

from __future__ import annotations

import socket
import threading

import pytest

from edgecli import cpbuild

pytestmark = pytest.mark.micropython


def test_the_boards_circuitpython_is_the_pinned_release_with_the_engine(circuitpython):
    out = circuitpython(
        "import sys, wasm3\n"
        "print(sys.implementation.name, '.'.join(map(str, sys.implementation.version[:3])))\n"
        "print(hasattr(wasm3, 'Environment'))\n")
    assert out.split("\n")[:2] == ["circuitpython %s" % cpbuild.VERSION, "True"]


def test_modules_a_circuitpython_board_lacks_are_not_there(circuitpython):
    out = circuitpython(
        "import hashlib, time\n"
        "print(hasattr(hashlib, 'sha256'), hashlib.new('sha256', b'abc').digest()[:2])\n"
        "print(hasattr(time, 'ticks_ms'), hasattr(time, 'sleep_ms'), time.monotonic_ns() >= 0)\n"
        "for name in ('_thread', 'socket', 'network', 'machine'):\n"
        "    try:\n"
        "        __import__(name)\n"
        "        print(name, 'there')\n"
        "    except ImportError:\n"
        "        print(name, 'missing')\n")
    assert out.splitlines() == ["False b'\\xbax'", "False False True", "_thread missing",
                                "socket missing", "network missing", "machine missing"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_wifi_stand_ins_carry_a_tcp_exchange(circuitpython):
    out = circuitpython(
        "port = %d\n" % free_port() +
        "import socketpool, wifi\n"
        "wifi.radio.connect('lab', 'secret')\n"
        "pool = socketpool.SocketPool(wifi.radio)\n"
        "server = pool.socket(pool.AF_INET, pool.SOCK_STREAM)\n"
        "server.setsockopt(pool.SOL_SOCKET, pool.SO_REUSEADDR, 1)\n"
        "server.bind(('127.0.0.1', port))\n"
        "server.listen(1)\n"
        "client = pool.socket(pool.AF_INET, pool.SOCK_STREAM)\n"
        "client.connect(pool.getaddrinfo('127.0.0.1', port)[0][-1])\n"
        "peer, address = server.accept()\n"
        "client.sendall(b'ping')\n"
        "buf = bytearray(8)\n"
        "n = peer.recv_into(buf)\n"
        "print(bytes(buf[:n]), address[0])\n"
        "peer.setblocking(False)\n"
        "try:\n"
        "    peer.recv_into(buf)\n"
        "except OSError as exc:\n"
        "    print('would block', exc.args[0] == 11)\n")
    assert out.splitlines() == ["b'ping' 127.0.0.1", "would block True"]


class FarEnd:
    """The gateway's end of the board's line, in a thread: reads `expect` bytes, answers with
    them reversed, then hangs up."""

    def __init__(self, expect: bytes, listen: bool = True, port: int | None = None):
        self.port = port or free_port()
        self.expect = expect
        self.got = b""
        self._server = None
        if listen:
            self._server = socket.create_server(("127.0.0.1", self.port))
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _connection(self) -> socket.socket:
        if self._server is not None:
            return self._server.accept()[0]
        while True:  # the board listens: call it once it does
            try:
                return socket.create_connection(("127.0.0.1", self.port))
            except ConnectionRefusedError:
                threading.Event().wait(0.02)

    def _serve(self) -> None:
        with self._connection() as conn:
            while len(self.got) < len(self.expect):
                chunk = conn.recv(64)
                if not chunk:
                    break
                self.got += chunk
            conn.sendall(self.got[::-1])

    def join(self) -> None:
        self._thread.join(10)
        if self._server is not None:
            self._server.close()


ECHO_OVER_LINE = (
    "line.write(b'edgehost')\n"
    "got = b''\n"
    "while len(got) < 8:\n"
    "    n = line.readinto(line.buffer)\n"
    "    got += bytes(line.buffer[:n])\n"
    "print(got)\n")


@pytest.fixture
def serial_far_end(monkeypatch):
    """The far end of the board's serial line, where the serial stand-ins find it."""
    far = FarEnd(b"edgehost")
    monkeypatch.setenv("EDGEHOST_CP_SERIAL", "127.0.0.1:%d" % far.port)
    yield far
    far.join()


def test_the_usb_data_port_needs_boot_py_then_carries_the_link(circuitpython, serial_far_end):
    out = circuitpython(
        "import usb_cdc\n"
        "from edgehost import port\n"
        "try:\n"
        "    port.open_usb()\n"
        "except OSError as exc:\n"
        "    print(exc)\n"
        "usb_cdc.enable(console=True, data=True)\n"
        "line = port.link_connector({'kind': 'usb'})()\n" + ECHO_OVER_LINE)
    assert out.splitlines() == [
        "usb_cdc data port is off: boot.py must call usb_cdc.enable(data=True)",
        "b'tsohegde'"]


def test_the_uart_link_goes_through_busio_on_the_profiles_pins(circuitpython, serial_far_end):
    out = circuitpython(
        "import microcontroller\n"
        "from edgehost import port\n"
        "line = port.link_connector({'kind': 'uart', 'uart': 1, 'baud': 921600, 'tx': 17,\n"
        "                            'rx': 18})()\n"
        "print(microcontroller.pin.GPIO17.in_use, microcontroller.pin.GPIO18.in_use)\n"
        + ECHO_OVER_LINE)
    assert out.splitlines() == ["True True", "b'tsohegde'"]


def test_a_listening_board_accepts_its_gateway_through_socketpool(circuitpython):
    far = FarEnd(b"edgehost", listen=False)
    out = circuitpython(
        "from edgehost import port\n"
        "connect = port.link_connector({'kind': 'tcp-listen', 'host': '127.0.0.1',\n"
        "                               'port': %d})\n"
        "line = None\n"
        "while line is None:\n"
        "    line = connect()\n" % far.port + ECHO_OVER_LINE)
    far.join()
    assert out.splitlines() == ["b'tsohegde'"]


def test_the_watchdog_is_microcontrollers_in_reset_mode(circuitpython):
    out = circuitpython(
        "import microcontroller\n"
        "from edgehost import port\n"
        "dog = port.Watchdog(8000)\n"
        "dog.feed(); dog.feed()\n"
        "wd = microcontroller.watchdog\n"
        "print(wd.mode, wd.timeout, wd.feeds)\n")
    assert out.splitlines() == ["RESET 8.0 2"]


def test_boot_py_turns_on_the_usb_data_port_and_lets_the_board_write_its_flash(
        circuitpython, serial_far_end):
    out = circuitpython(
        "import storage\n"
        "print(storage.getmount('/').readonly)\n"
        "import boot\n"
        "print(storage.getmount('/').readonly)\n"
        "from edgehost import port\n"
        "line = port.link_connector({'kind': 'usb'})()\n" + ECHO_OVER_LINE)
    assert out.splitlines() == ["True", "False", "b'tsohegde'"]


def test_pins_and_the_sensor_go_through_digitalio_and_analogio(circuitpython):
    out = circuitpython(
        "import microcontroller\n"
        "from edgehost.hardware import GPIO, SENSORLED, Hardware, pin_bank\n"
        "from edgelink import mpack\n"
        "microcontroller.pin.GPIO4.analog = 41000\n"
        "microcontroller.pin.GPIO6.level = True\n"
        "hw = Hardware({'led': 2, 'sensor': 4, 'gpio': [2, 6, 22]}, pin_bank())\n"
        "print(mpack.unpackb(hw.call(SENSORLED, 'SensorLed.ReadSensor', b'')))\n"
        "print(mpack.unpackb(hw.call(GPIO, 'Gpio.Read', mpack.packb({'pin': 6}))))\n"
        "print(microcontroller.pin.GPIO4.in_use, microcontroller.pin.GPIO6.in_use)\n"
        "try:\n"
        "    hw.call(GPIO, 'Gpio.Read', mpack.packb({'pin': 22}))\n"
        "except Exception as exc:\n"
        "    print(exc)\n")
    # the probes are let go after each reading; the ESP32-S3 has no GPIO22
    assert out.splitlines() == ["{'value': 41000, 'unit': 'raw'}", "True", "False False",
                                "this chip has no GPIO22"]
