"""Link throughput over a real pseudo-terminal throttled to a UART's baud rate.

The board end (the shared edgelink code, in a thread) and the gateway end (DeviceLink over
pyserial on the pty path) talk through os.openpty(); every sender paces its bytes at 10 bits a
byte. Reports bulk transfer of a 100 KiB module and small request/response round trips at each
baud rate, each as a ratio to a baseline measured in the same run, then CPU time per frame under
CPython and MicroPython. The last line is wire_efficiency for the 921600 baud bulk case.

    .venv/bin/python tools/bench/link_throughput.py [--bauds 115200,921600] [--size 102400]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

import serial

from edgegate.devices.devicelink import DeviceLink
from edgegate.devices.transports import SerialTransport
from edgelink.boardio import FdPort
from edgelink.link import board_link, gateway_link

ROOT = Path(__file__).resolve().parents[2]
BOARD_ID = b"bench-board"
KEY = bytes(range(32))
SLICE = 32  # bytes put on the line at a time


class LinePacer:
    """Holds each write back until its bytes would have crossed a UART at `baud` (10 bits/byte)."""

    def __init__(self, baud: int):
        self.byte_time = 10 / baud
        self._free_at = 0.0
        self._lock = threading.Lock()

    def pace(self, write, data) -> None:
        offered = time.perf_counter()  # the moment the bytes are handed to the "UART"
        view = memoryview(bytes(data))
        with self._lock:
            # a line that was busy carries straight on; an idle one starts when bytes come,
            # never earlier: the line is never credited for time it sat idle
            arrival = max(offered, self._free_at)
            for start in range(0, len(view), SLICE):
                piece = view[start:start + SLICE]
                arrival += len(piece) * self.byte_time
                delay = arrival - time.perf_counter()
                if delay > 0.0003:
                    time.sleep(delay - 0.0002)
                while time.perf_counter() < arrival:
                    time.sleep(0)  # spin the last fraction: sleep() overshoots
                write(piece)
            self._free_at = arrival


class PacedFdPort(FdPort):
    def __init__(self, fd: int, pacer: LinePacer):
        super().__init__(fd, buffer_size=4096)
        self._pacer = pacer

    def write(self, data) -> None:
        self._pacer.pace(super().write, data)


class PacedSerial:
    """A pyserial port whose writes are paced; reads go straight through."""

    def __init__(self, port: serial.SerialBase, pacer: LinePacer):
        self._port = port
        self._pacer = pacer

    def write(self, data) -> int:
        self._pacer.pace(self._port.write, data)
        return len(data)

    def read(self, size: int) -> bytes:
        return self._port.read(size)

    @property
    def in_waiting(self) -> int:
        return self._port.in_waiting

    def close(self) -> None:
        self._port.close()


def board_loop(port: FdPort, stop: threading.Event, max_frame: int, window: int,
               pause=None) -> None:
    """The board: installs are answered with the digest of the body that came, everything
    else the link answers itself. `pause(link)`, if given, runs every turn (a slow board);
    once it returns True the board is dead: it reads and answers nothing more."""
    link = board_link(BOARD_ID, KEY, port.write, max_frame=max_frame, window=window,
                      max_body=4 * 1024 * 1024, log=None)
    hello = {"t": "hello", "board": "bench-board", "firmware": "bench", "engine": "wasm3",
             "profile": "bench", "max_frame": max_frame, "window": window, "free_mem": 0,
             "free_flash": 0, "actors": {}}
    link.on_open = lambda: link.send(dict(hello))
    link.open()
    while not stop.is_set():
        if pause is not None and pause(link):
            break
        inbox = link.poll(port)
        for msg in inbox:
            if msg["t"] == "install":
                link.send({"t": "installed", "id": msg["id"], "actor": msg["actor"],
                           "sha256": hashlib.sha256(msg["body"]).digest()})
        if not inbox:
            time.sleep(0.0002)


def raw_echo_loop(fd: int, stop: threading.Event, pacer: LinePacer) -> None:
    os.set_blocking(fd, False)
    while not stop.is_set():
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            time.sleep(0.0002)
            continue
        pacer.pace(lambda d: os.write(fd, d), data)


def open_pty() -> tuple[int, int, str]:
    board_fd, gateway_fd = os.openpty()
    tty.setraw(board_fd)
    tty.setraw(gateway_fd)
    return board_fd, gateway_fd, os.ttyname(gateway_fd)


async def open_paced(path: str, baud: int) -> SerialTransport:
    port = serial.serial_for_url(path, baudrate=baud, timeout=0.02)
    return SerialTransport(PacedSerial(port, LinePacer(baud)), asyncio.get_running_loop(), path)


async def raw_round_trip(baud: int, size: int, rounds: int) -> float:
    """Baseline: the same number of bytes echoed raw by the board side, no link protocol."""
    board_fd, gateway_fd, path = open_pty()
    stop = threading.Event()
    echo = threading.Thread(target=raw_echo_loop, args=(board_fd, stop, LinePacer(baud)),
                            daemon=True)
    echo.start()
    transport = await open_paced(path, baud)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        await transport.write(b"\x55" * size)
        got = 0
        while got < size:
            got += len(await transport.read())
        times.append(time.perf_counter() - start)
    stop.set()
    echo.join()
    await transport.close()
    os.close(board_fd)
    os.close(gateway_fd)
    return sorted(times)[len(times) // 2]


def module_like(size: int) -> bytes:
    """A module-like body: about one byte in six is zero, as in the project's own actors."""
    return bytes(0 if i % 6 == 0 else 1 + (i * 7919 >> 3) % 255 for i in range(size))


async def link_run(baud: int, size: int, rounds: int, max_frame: int, window: int,
                   pause=None) -> dict:
    """Pings, then one install of a `size`-byte body; `reply` is the install's answer."""
    board_fd, gateway_fd, path = open_pty()
    stop = threading.Event()
    board = threading.Thread(target=board_loop, daemon=True,
                             args=(PacedFdPort(board_fd, LinePacer(baud)), stop, max_frame,
                                   window, pause))
    board.start()
    transport = await open_paced(path, baud)
    device = DeviceLink(transport, {BOARD_ID: KEY})
    runner = asyncio.create_task(device.run())
    try:
        await asyncio.wait_for(device.opened.wait(), 10)
        await asyncio.wait_for(device.receive(), 10)  # hello
        device.send({"t": "ready", "host": "NBENCH", "max_frame": 16384, "window": 8})

        ping_times = []
        for _ in range(rounds):
            start = time.perf_counter()
            await device.request({"t": "ping"})
            ping_times.append(time.perf_counter() - start)

        module = module_like(size)
        start = time.perf_counter()
        reply = await device.request({"t": "install", "actor": "MBENCH",
                                      "sha256": hashlib.sha256(module).digest()}, module,
                                     timeout=600)
        bulk_seconds = time.perf_counter() - start
    finally:
        stop.set()
        board.join()
        os.close(board_fd)  # a write still waiting for the line ends now, and with it close()
        await transport.close()
        await runner
        os.close(gateway_fd)
    return {"bulk_seconds": bulk_seconds, "ping": sorted(ping_times)[len(ping_times) // 2],
            "drops": device.link.drops.total(), "resent": device.link.delivery.resent,
            "reply": reply, "intact": reply.get("sha256") == hashlib.sha256(module).digest()}


def ping_wire_bytes() -> int:
    """Bytes a ping and its pong take on the wire, both directions together."""
    sizes = []
    up, down = [], []
    board = board_link(BOARD_ID, KEY, lambda d: up.append(bytes(d)), log=None)
    gateway = gateway_link({BOARD_ID: KEY}, lambda d: down.append(bytes(d)))
    board.open()
    while up or down:
        while up:
            gateway.feed(up.pop(0))
        while down:
            board.feed(down.pop(0))
    gateway.send({"t": "ping", "id": 1000})
    sizes.append(len(down[0]))
    board.feed(down.pop(0))
    sizes.append(len(up[0]))
    return sum(sizes)


CPU_SCRIPT = """
import time, hashlib
from edgelink.link import board_link, gateway_link
try:
    clock = time.ticks_us
    diff = time.ticks_diff
except AttributeError:
    clock = lambda: int(time.perf_counter() * 1e6)
    diff = lambda a, b: a - b
key = bytes(range(32)); up = []; down = []
# a window as wide as the run: each send is framed and written at once, none waits for an ack
b = board_link(b'cpu', key, lambda d: up.append(bytes(d)), max_frame=1024, log=None,
               window=10000)
g = gateway_link({b'cpu': key}, lambda d: down.append(bytes(d)))
b.open()
while up or down:
    while up: g.feed(bytes(up.pop(0)))
    while down: b.feed(down.pop(0))
g.send({'t': 'ready', 'host': 'h', 'max_frame': 16384, 'window': 10000})
b.feed(down.pop(0))
up.clear()
N = %d
def pattern(size, zero_every):
    # deterministic bytes; one in zero_every is 0x00 (COBS does a step of work per zero)
    return bytes(0 if i %% zero_every == 0 else 1 + (i * 7919 >> 3) %% 255 for i in range(size))
for name, body in (('16 B, no zeros', pattern(16, 1000)), ('900 B, no zeros', pattern(900, 1000)),
                   ('900 B, 1/6 zeros', pattern(900, 6)), ('900 B, all zeros', bytes(900))):
    msg = {'t': 'invoke_result', 'id': 1, 'body': body}
    start = clock()
    for i in range(N):
        b.send(msg)
    t_send = diff(clock(), start)
    frames = list(up)
    up.clear()
    start = clock()
    for f in frames:
        g.feed(f)
    t_recv = diff(clock(), start)
    g.session.send_ack()  # the round is taken: the board lets its copies go
    b.feed(down.pop())
    down.clear()
    data = bytes(1024)
    start = clock()
    for i in range(N):
        hashlib.sha256(data).digest()
    t_sha = diff(clock(), start)
    print('cpu', t_send / N, t_recv / N, t_sha / N, name)
"""


def cpu_per_frame(frames: int) -> dict[str, list[tuple[str, float, float, float]]]:
    """Microseconds per frame to send (encode, MAC, frame) and receive, per interpreter."""
    code = CPU_SCRIPT % frames
    env = dict(os.environ, MICROPYPATH=f"{ROOT / 'shared'}:.frozen")
    runs = {
        "CPython": [sys.executable, "-c", code],
        "MicroPython": [str(Path(sys.executable).parent / "micropython"), "-c", code],
    }
    results = {}
    for name, cmd in runs.items():
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
        results[name] = [(" ".join(p[4:]), float(p[1]), float(p[2]), float(p[3]))
                         for p in (line.split() for line in out.splitlines())
                         if p and p[0] == "cpu"]
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bauds", default="115200,921600")
    parser.add_argument("--size", type=int, default=100 * 1024)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--max-frame", type=int, default=1024)
    parser.add_argument("--window", type=int, default=8)
    parser.add_argument("--cpu-frames", type=int, default=300)
    args = parser.parse_args()

    ping_bytes = ping_wire_bytes()
    efficiency = None
    print(f"board max_frame {args.max_frame}, window {args.window}; "
          f"bulk body {args.size} bytes; ping+pong {ping_bytes} wire bytes")
    for baud in (int(b) for b in args.bauds.split(",")):
        line_rate = baud / 10
        result = await link_run(baud, args.size, args.rounds, args.max_frame, args.window)
        if not result["intact"]:
            sys.exit(f"link_throughput: the {args.size}-byte install at {baud} baud failed: "
                     f"{result['reply']}")
        raw = await raw_round_trip(baud, ping_bytes // 2, args.rounds)
        rate = args.size / result["bulk_seconds"]
        print(f"{baud:>7} baud  bulk {rate:9.0f} B/s = {rate / line_rate:.3f} of the line rate "
              f"({line_rate:.0f} B/s), {result['bulk_seconds']:.2f} s")
        print(f"{baud:>7} baud  ping round trip {result['ping'] * 1000:7.2f} ms = "
              f"{result['ping'] / raw:.2f} x a raw echo of the same bytes "
              f"({raw * 1000:.2f} ms); dropped frames {result['drops']}")
        if baud == 921600:
            efficiency = rate / line_rate
    for name, rows in cpu_per_frame(args.cpu_frames).items():
        for body, send_us, recv_us, sha_us in rows:
            print(f"{name:>11} CPU per frame, body {body:<16}: send {send_us:6.1f} us, "
                  f"receive {recv_us:7.1f} us = {send_us / sha_us:.1f} / "
                  f"{recv_us / sha_us:.1f} x one SHA-256 of 1 KiB ({sha_us:.1f} us)")
    if efficiency is not None:
        print(f"wire_efficiency={efficiency:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
