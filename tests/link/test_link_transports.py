"""Transports: the board's ports and the gateway's pyserial and TCP pipes, end to end."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import threading
import tty

import link_echo_board
import pytest
import serial
from linkpair import BOARD_ID, PAIRING_KEY

from edgegate.devices.devicelink import DeviceLink
from edgegate.devices.transports import SerialTransport, TcpListener, TcpTransport, TransportError
from edgelink.boardio import FdPort, PortClosed, SocketPort, UartPort
from edgelink.link import LinkClosed

KEYS = {BOARD_ID: PAIRING_KEY}
MODULE = bytes(range(256)) * 80


async def exercise(device: DeviceLink) -> None:
    """What a gateway does with a fresh board: hello, ready, install, invokes, ping."""
    await asyncio.wait_for(device.opened.wait(), 10)
    hello = await asyncio.wait_for(device.receive(), 10)
    assert hello["t"] == "hello" and hello["board"] == "board-7"
    assert device.board_id == BOARD_ID
    device.send({"t": "ready", "host": "NHOST", "max_frame": 16384, "window": 8})
    installed = await device.request(
        {"t": "install", "actor": "MECHO", "sha256": hashlib.sha256(MODULE).digest()}, MODULE,
        timeout=20)
    assert installed["t"] == "installed" and installed["actor"] == "MECHO"
    payloads = [bytes([i]) * (i * 300 + 1) for i in range(5)]
    results = await asyncio.gather(*(
        device.request({"t": "invoke", "actor": "MECHO", "op": "Echo", "origin": "MX"}, p)
        for p in payloads))
    assert [r["body"] for r in results] == [p[::-1] for p in payloads]
    assert (await device.request({"t": "ping"}))["t"] == "pong"
    # a frame sent again too early arrives twice; the copy is dropped, nothing else is
    assert set(device.drops) <= {"replay"}


async def test_gateway_and_board_over_a_real_pseudo_terminal():
    board_fd, gateway_fd = os.openpty()
    tty.setraw(board_fd)
    tty.setraw(gateway_fd)
    thread, stop = link_echo_board.start(FdPort(board_fd), BOARD_ID, PAIRING_KEY)
    transport = await SerialTransport.open(os.ttyname(gateway_fd), baudrate=921600)
    device = DeviceLink(transport, KEYS)
    runner = asyncio.create_task(device.run())
    try:
        await exercise(device)
    finally:
        stop.set()
        thread.join(5)
        await transport.close()
        await runner
        os.close(board_fd)
        os.close(gateway_fd)


async def test_gateway_listens_for_a_board_calling_in_over_tcp():
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def on_board(transport: TcpTransport) -> None:
        device = DeviceLink(transport, KEYS)
        runner = asyncio.create_task(device.run())
        try:
            await exercise(device)
            done.set_result(None)
        except BaseException as exc:  # the test body awaits this future
            done.set_exception(exc)
        await transport.close()
        await runner

    listener = await TcpListener.start("127.0.0.1", 0, on_board)
    sock = socket.create_connection(("127.0.0.1", listener.port))
    thread, stop = link_echo_board.start(SocketPort(sock), BOARD_ID, PAIRING_KEY)
    try:
        await asyncio.wait_for(done, 30)
    finally:
        stop.set()
        thread.join(5)
        sock.close()
        await listener.close()


async def test_a_pyserial_socket_url_reaches_a_board_listening_on_tcp():
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    stops = []

    def accept():
        conn, _ = server.accept()
        stops.append((conn, *link_echo_board.start(SocketPort(conn), BOARD_ID, PAIRING_KEY)))

    accepting = asyncio.get_running_loop().run_in_executor(None, accept)
    transport = await SerialTransport.open(f"socket://127.0.0.1:{port}")
    await accepting
    device = DeviceLink(transport, KEYS)
    runner = asyncio.create_task(device.run())
    try:
        await exercise(device)
    finally:
        for conn, thread, stop in stops:
            stop.set()
            thread.join(5)
            conn.close()
        await transport.close()
        await runner
        server.close()


async def test_the_link_ends_cleanly_when_the_board_hangs_up():
    server = socket.create_server(("127.0.0.1", 0))
    transport_task = asyncio.create_task(TcpTransport.connect(*server.getsockname()[:2]))
    conn, _ = await asyncio.get_running_loop().run_in_executor(None, server.accept)
    transport = await transport_task
    device = DeviceLink(transport, KEYS)
    runner = asyncio.create_task(device.run())
    conn.close()
    await asyncio.wait_for(runner, 5)
    with pytest.raises(LinkClosed, match="closed"):
        await device.receive()
    with pytest.raises(LinkClosed):  # and so for every caller after
        await device.receive()
    await transport.close()
    server.close()


@pytest.mark.parametrize("url, rule", [
    ("/dev/no-such-board", "cannot open serial port '/dev/no-such-board'"),
    ("nonsense://x", "cannot open serial port 'nonsense://x'"),
])
async def test_a_bad_serial_url_is_one_clear_error(url, rule):
    with pytest.raises(TransportError, match=rule):
        await SerialTransport.open(url)


async def test_a_port_already_taken_is_one_clear_error():
    holder = socket.create_server(("127.0.0.1", 0))
    port = holder.getsockname()[1]

    async def ignore(transport):
        pass

    with pytest.raises(TransportError, match=f"cannot listen on 127.0.0.1:{port}"):
        await TcpListener.start("127.0.0.1", port, ignore)
    holder.close()


async def test_connecting_to_nothing_is_one_clear_error():
    free = socket.create_server(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    with pytest.raises(TransportError, match=f"cannot connect to 127.0.0.1:{port}"):
        await TcpTransport.connect("127.0.0.1", port)


def test_a_board_socket_port_reports_the_gateway_hanging_up():
    left, right = socket.socketpair()
    port = SocketPort(left)
    assert port.readinto(port.buffer) == 0  # nothing yet, and no waiting
    right.sendall(b"abc")
    right.close()
    assert port.buffer[:port.readinto(port.buffer)] == b"abc"
    with pytest.raises(PortClosed, match="closed the TCP connection"):
        port.readinto(port.buffer)
    left.close()


class CircuitPythonUart:
    """The busio.UART / usb_cdc.Serial calls the port makes: in_waiting, readinto(), write()."""

    def __init__(self, incoming: bytes):
        self.incoming = bytearray(incoming)
        self.written = bytearray()

    @property
    def in_waiting(self):
        return len(self.incoming)

    def readinto(self, buf):
        n = min(len(buf), len(self.incoming))
        buf[:n] = self.incoming[:n]
        del self.incoming[:n]
        return n

    def write(self, data):
        self.written += bytes(data[:7])  # a UART buffer that takes 7 bytes at a time
        return min(7, len(data))


class MicroPythonUart(CircuitPythonUart):
    """machine.UART says how much is waiting with any()."""

    def any(self):
        return len(self.incoming)


@pytest.mark.parametrize("uart_class", [MicroPythonUart, CircuitPythonUart])
def test_uart_port_reads_what_is_waiting_and_writes_everything(uart_class):
    uart = uart_class(b"x" * 1000)
    port = UartPort(uart, buffer_size=256)
    assert port.readinto(port.buffer) == 256
    assert sum(iter(lambda: port.readinto(port.buffer), 0)) == 744
    assert port.readinto(port.buffer) == 0
    port.write(b"0123456789" * 5)
    assert bytes(uart.written) == b"0123456789" * 5


def test_uart_port_turns_off_ctrl_c_under_micropython(micropython):
    out = micropython(
        "import micropython\n"
        "from edgelink.boardio import UartPort\n"
        "class Uart:\n"
        "    def any(self): return 3\n"
        "    def readinto(self, buf): buf[0] = 3; buf[1] = 3; buf[2] = 0; return 3\n"
        "    def write(self, data): return len(data)\n"
        "port = UartPort(Uart(), shares_repl=True)\n"
        "print(port.readinto(port.buffer), bytes(port.buffer[:3]))\n"
    )
    assert out.strip() == "3 b'\\x03\\x03\\x00'"


async def test_a_board_talks_to_the_gateway_over_wifi(board_python):
    """The board interpreters run the board end on the socket their Wi-Fi path opens."""
    result: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    ended = asyncio.Event()

    async def on_board(transport: TcpTransport) -> None:
        device = DeviceLink(transport, KEYS)
        runner = asyncio.create_task(device.run())
        try:
            await exercise(device)
            await device.request({"t": "remove", "actor": "MECHO"})
            result.set_result(None)
        except BaseException as exc:
            result.set_exception(exc)
        await asyncio.wait_for(runner, 10)  # the board hangs up when it is done
        await transport.close()
        ended.set()

    listener = await TcpListener.start("127.0.0.1", 0, on_board)
    board = MICROPYTHON_BOARD % (listener.port, PAIRING_KEY)
    try:
        out = await asyncio.to_thread(board_python, board, 60)
        await asyncio.wait_for(result, 5)
        await asyncio.wait_for(ended.wait(), 10)
    finally:
        await listener.close()
    assert "board done" in out


MICROPYTHON_BOARD = """
from edgehost.port import wifi_connect
from edgelink.clock import sleep_ms
from edgelink.link import LinkClosed, board_link
from edgelink.boardio import SocketPort
sock = wifi_connect('lab', 'secret', '127.0.0.1', %d)
port = SocketPort(sock)
link = board_link(b'board-7', %r, port.write, max_frame=512, max_body=100000)
hello = {'t': 'hello', 'board': 'board-7', 'firmware': '0.1.0', 'engine': 'wasm3',
         'profile': 'test', 'max_frame': 512, 'window': 2, 'free_mem': 1, 'free_flash': 1,
         'actors': {}}
link.on_open = lambda: link.send(hello)
link.open()
running = True
while running:
    inbox = link.poll(port)
    for msg in inbox:
        t = msg['t']
        if t == 'invoke':
            link.send({'t': 'invoke_result', 'id': msg['id']}, bytes(reversed(msg['body'])))
        elif t == 'install':
            link.send({'t': 'installed', 'id': msg['id'], 'actor': msg['actor'],
                       'sha256': msg['sha256']})
        elif t == 'remove':
            link.send({'t': 'removed', 'id': msg['id'], 'actor': msg['actor']})
            running = False
    if not inbox:
        sleep_ms(1)
while link.busy:
    link.poll(port)
sock.close()
print('board done')
"""


class PtySerial(serial.Serial):
    """A pty has no modem lines; the port server reads and sets them, so they are kept here."""

    cts = dsr = ri = cd = property(lambda self: False)

    def _update_dtr_state(self) -> None:
        pass

    def _update_rts_state(self) -> None:
        pass


class Rfc2217Bridge:
    """pyserial's RFC 2217 port server in front of a pty: what ser2net or a rig server offers."""

    def __init__(self, device_path: str):
        from serial import rfc2217

        self.port = PtySerial(device_path, timeout=0.05)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.address = self.server.getsockname()[:2]
        self._conn: socket.socket | None = None
        self._stop = threading.Event()
        self._rfc2217 = rfc2217
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def write(self, data: bytes) -> None:  # PortManager answers option negotiation here
        assert self._conn is not None
        self._conn.sendall(data)

    def _serve(self) -> None:
        self._conn, _ = self.server.accept()
        manager = self._rfc2217.PortManager(self.port, self)
        self._conn.settimeout(0.05)

        def serial_to_socket() -> None:
            while not self._stop.is_set():
                data = self.port.read(self.port.in_waiting or 1)
                if data:
                    self._conn.sendall(b"".join(manager.escape(data)))

        pump = threading.Thread(target=serial_to_socket, daemon=True)
        pump.start()
        while not self._stop.is_set():
            try:
                data = self._conn.recv(4096)
            except TimeoutError:
                continue
            if not data:
                break
            self.port.write(b"".join(manager.filter(data)))
        self._stop.set()
        pump.join(5)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        if self._conn is not None:
            self._conn.close()
        self.server.close()
        self.port.close()


@pytest.mark.filterwarnings("ignore:set(Daemon|Name)\\(\\) is deprecated:DeprecationWarning")
async def test_a_pyserial_rfc2217_url_reaches_a_board_behind_a_port_server():
    board_fd, device_fd = os.openpty()
    tty.setraw(board_fd)
    tty.setraw(device_fd)
    thread, stop = link_echo_board.start(FdPort(board_fd), BOARD_ID, PAIRING_KEY)
    bridge = Rfc2217Bridge(os.ttyname(device_fd))
    host, port = bridge.address
    transport = await SerialTransport.open(f"rfc2217://{host}:{port}", baudrate=921600)
    device = DeviceLink(transport, KEYS)
    runner = asyncio.create_task(device.run())
    try:
        await exercise(device)
    finally:
        stop.set()
        thread.join(5)
        await transport.close()
        await runner
        bridge.close()
        os.close(board_fd)
        os.close(device_fd)
