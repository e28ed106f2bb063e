"""Modules stream to flash: the board's RAM during an install is bounded by the chunk window.

The board end runs under the real MicroPython interpreter with a heap of 192 KiB, far less
than the 1 MiB module it takes; it samples its live heap after every turn of its loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support.gateway import WAIT, tcp_gateway
from support.keys import PAIRING_KEY

from edgehost.store import ActorStore

ROOT = Path(__file__).resolve().parents[2]
HEAP = "224k"  # what the board code (the store and its region among it) needs to load
# (uncompiled) and run, and little more
MODULE_SIZE = 1024 * 1024
BOARD = "mem-1"

def board_script(port: int) -> str:
    """The board end: its link with the store's staging as the body sink, as edgehost.board
    wires it, answering the one install it takes."""
    return f"""
import gc, socket, binascii
from edgelink.link import board_link
from edgelink.boardio import SocketPort
from edgehost.store import ActorStore

store = ActorStore("flash", {MODULE_SIZE})
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(socket.getaddrinfo("127.0.0.1", {port})[0][-1])
server.listen(1)
print("listening")
conn = server.accept()[0]
port = SocketPort(conn, buffer_size=1024)
link = board_link({BOARD!r}, bytes({list(PAIRING_KEY)!r}), port.write, max_frame=4096,
                  window=8, max_body=16384, log=None,
                  body_sink=lambda msg: store.stage(msg["size"]))
def hello():
    link.send({{"t": "hello", "board": {BOARD!r}, "firmware": "stream-test", "engine": "none",
               "profile": "esp32-c3-devkitm-1", "max_frame": 4096, "window": 8,
               "free_mem": gc.mem_free(), "free_flash": 0, "actors": {{}}}})
link.on_open = hello
link.open()
gc.collect()
base = gc.mem_alloc()
peak = 0
done = False
while not done:
    for msg in link.poll(port):
        if msg["t"] == "install":
            staged = msg["body"]
            digest = str(binascii.hexlify(msg["sha256"]), "ascii")
            store.commit(msg["actor"], staged, digest, {{}})
            link.send({{"t": "installed", "id": msg["id"], "actor": msg["actor"],
                        "sha256": msg["sha256"]}})
            done = True
    gc.collect()
    live = gc.mem_alloc() - base
    if live > peak:
        peak = live
print("peak", peak, "heap", gc.mem_alloc() + gc.mem_free())
while True:  # let the reply go out before the process ends
    try:
        link.poll(port)
    except OSError:
        break
"""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.micropython
async def test_a_1_mib_install_stays_within_a_few_frames_of_board_ram(tmp_path):
    port = free_port()
    (tmp_path / "board.py").write_text(board_script(port))
    binary = Path(sys.executable).parent / "micropython"
    env = dict(os.environ, MICROPYPATH=f"{ROOT / 'firmware'}:{ROOT / 'shared'}")
    proc = subprocess.Popen([str(binary), "-X", f"heapsize={HEAP}", "board.py"], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout.readline().strip() == "listening"
        module = os.urandom(MODULE_SIZE)
        async with tcp_gateway(f"tcp://127.0.0.1:{port}", BOARD, PAIRING_KEY) as gw:
            reply = await gw.device.request(
                {"t": "install", "actor": "MSTREAM", "sha256": hashlib.sha256(module).digest()},
                module, timeout=60)
        assert reply["t"] == "installed", reply
        out, _ = await asyncio.to_thread(proc.communicate, timeout=WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    found = re.search(r"peak (\d+) heap (\d+)", out)
    assert found, out
    peak, heap = int(found.group(1)), int(found.group(2))
    print(f"\nboard live heap during a {MODULE_SIZE} byte install: peak {peak} bytes "
          f"of a {heap} byte heap")
    assert heap < MODULE_SIZE // 4  # the module could never have been held whole
    assert peak < 48 * 1024  # a few 4 KiB frames and the link's bookkeeping
    store = ActorStore(str(tmp_path / "flash"), MODULE_SIZE)
    (record,), dropped = store.restore()
    assert store.load_module(record) == module and dropped == []
    assert store.incoming_bytes() == 0
