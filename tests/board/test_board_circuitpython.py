"""The board's CircuitPython (edgecli.cpbuild with tools/cpboard/): what board code meets there
is what a CircuitPython ESP32-S3 shows it, not what the unix port has."""

from __future__ import annotations

import socket

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
