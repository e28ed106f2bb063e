"""A TCP board whose port strangers hold without the pairing key still serves its gateway."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
from collections.abc import Iterator

import pytest
from support.commands import EDGEHOST

from edgelink import frame, session

ASK_FRAME = bytes(frame.FrameWriter(256).encode(bytes([session.ASK])))


def address(sim) -> tuple[str, int]:
    host, port = sim.where.removeprefix("tcp://").rsplit(":", 1)
    return host, int(port)


def hold(sock: socket.socket, stop: threading.Event) -> None:
    stop.wait()


def slow_sender(sock: socket.socket, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        sock.sendall(b"\x01")


def ask_flood(sock: socket.socket, stop: threading.Event) -> None:
    # ASKs as fast as the line takes them, and never a byte read back
    burst = ASK_FRAME * 512
    while not stop.is_set():
        sock.sendall(burst)


STRANGERS = {"one silent": (hold, 1), "fifty silent": (hold, 50),
             "a slow sender": (slow_sender, 1), "a flood of asks": (ask_flood, 1)}


@contextlib.contextmanager
def strangers(where: tuple[str, int], behave, count: int) -> Iterator[None]:
    stop = threading.Event()
    sockets = [socket.create_connection(where) for _ in range(count)]

    def run(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            behave(sock, stop)

    threads = [threading.Thread(target=run, args=(sock,), daemon=True) for sock in sockets]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in threads:
            thread.join(5)


@pytest.mark.parametrize("who", list(STRANGERS))
def test_connections_without_the_key_do_not_lock_the_gateway_out(start_sim, board, who):
    sim = start_sim()
    behave, count = STRANGERS[who]
    with strangers(address(sim), behave, count):
        done = board(sim, "info")
    assert done.code == 0, (done, sim.stderr)
    assert "sim" in done.out


def test_a_connection_that_never_authenticates_is_closed(start_sim):
    sim = start_sim()
    with socket.create_connection(address(sim)) as sock:
        sock.settimeout(20)
        while sock.recv(256):  # the board's OPENs, until it hangs up
            pass
    assert "no gateway authenticated within 5 s on this connection" in sim.stderr


def test_an_authenticated_gateway_keeps_the_board_when_a_stranger_calls(start_sim, key_file):
    sim = start_sim()
    logs = subprocess.Popen([EDGEHOST, "board", *sim.board_args, "--key-file", str(key_file),
                             "logs"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert logs.stdout.readline()  # the session is open and the board talks
        with socket.create_connection(address(sim)) as late:
            said = b""
            while chunk := late.recv(4096):  # told it is busy, then hung up on
                said += chunk
        # no OPEN (no nonce a stranger could answer): only the board id, as any OPEN says it
        assert [bytes(r) for r in frame.FrameReader().feed(said)] == \
            [bytes([session.BUSY, 3]) + b"sim"]
        assert logs.poll() is None
    finally:
        logs.terminate()
        logs.wait(10)
