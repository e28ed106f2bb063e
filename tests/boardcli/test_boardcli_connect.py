"""`edgehost board` when the board cannot be reached, is not the one, or stays silent."""

from __future__ import annotations

import json
import socket
import threading

import pytest

from edgelink.boardio import SocketPort
from edgelink.link import board_link


@pytest.fixture
def tcp_peer():
    """A TCP server on a free port that does `behave(conn)` with each connection it accepts."""
    servers: list[tuple[socket.socket, threading.Event, threading.Thread]] = []

    def start(behave) -> str:
        server = socket.create_server(("127.0.0.1", 0))
        server.settimeout(0.1)
        stop = threading.Event()

        def accept_loop() -> None:
            while not stop.is_set():
                try:
                    conn, _ = server.accept()
                except TimeoutError:
                    continue
                with conn:
                    behave(conn, stop)

        thread = threading.Thread(target=accept_loop, daemon=True)
        thread.start()
        servers.append((server, stop, thread))
        return f"127.0.0.1:{server.getsockname()[1]}"

    try:
        yield start
    finally:
        for server, stop, thread in servers:
            stop.set()
            thread.join(5)
            server.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_line(outcome) -> str:
    assert outcome.code == 1 and outcome.out == "", outcome
    assert outcome.err.count("\n") == 1 and "Traceback" not in outcome.err, outcome
    return outcome.err


def test_a_board_that_is_not_listening_is_connection_refused(edgehost, key_file):
    port = free_port()
    err = one_line(edgehost("board", "--tcp", f"127.0.0.1:{port}", "--key-file", key_file,
                            "info"))
    assert err == f"edgehost: board at tcp://127.0.0.1:{port}: connection refused\n"


def test_a_serial_port_that_does_not_exist_is_named(edgehost, key_file, tmp_path):
    port = tmp_path / "ttyUSB9"
    err = one_line(edgehost("board", "--port", port, "--key-file", key_file, "info"))
    assert err == (f"edgehost: board at {port}: cannot open the port (No such file or "
                   f"directory)\n")


@pytest.mark.parametrize("tcp", [True, False], ids=["tcp", "pty"])
def test_a_wrong_pairing_key_is_refused_with_a_clear_message(start_sim, edgehost, tmp_path,
                                                             tcp):
    sim = start_sim(tcp=tcp)
    wrong = tmp_path / "wrong.key"
    wrong.write_text(json.dumps({"board_id": "sim", "pairing_key": "11" * 32}))
    err = one_line(edgehost("board", *sim.board_args, "--key-file", wrong, "--timeout", "1",
                            "info"))
    assert err.startswith(f"edgehost: board at {sim.where}: pairing key refused? (the board "
                          f"answered none of ")
    assert err.endswith(" challenges); check --key-file\n")


def test_a_wrong_pairing_key_is_reported_without_waiting_out_the_timeout(start_sim, edgehost,
                                                                         tmp_path):
    sim = start_sim()
    wrong = tmp_path / "wrong.key"
    wrong.write_text(json.dumps({"board_id": "sim", "pairing_key": "11" * 32}))
    # a timeout longer than any command may take: only the handshake's own bound ends it
    err = one_line(edgehost("board", *sim.board_args, "--key-file", wrong, "--timeout", "600",
                            "info"))
    assert err.startswith(f"edgehost: board at {sim.where}: pairing key refused? ")


@pytest.mark.parametrize("hang_up", [True, False], ids=["then-closes", "then-stays"])
def test_a_web_server_on_the_port_is_not_taken_for_a_wrong_key(edgehost, key_file, tcp_peer,
                                                                 hang_up):
    def web_server(conn: socket.socket, stop: threading.Event) -> None:
        conn.recv(100)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        if not hang_up:
            stop.wait()

    address = tcp_peer(web_server)
    err = one_line(edgehost("board", "--tcp", address, "--key-file", key_file, "--timeout", "2",
                            "info"))
    assert err == (f"edgehost: board at tcp://{address}: what answers there does not speak the "
                   f"edgehost link (47 bytes, not one frame); check the address\n")


def test_a_key_file_for_another_board_says_so(start_sim, edgehost, tmp_path):
    sim = start_sim()
    other = tmp_path / "other.key"
    other.write_text(json.dumps({"board_id": "kitchen", "pairing_key": "5a" * 32}))
    err = one_line(edgehost("board", *sim.board_args, "--key-file", other, "--timeout", "5",
                            "info"))
    assert err == (f"edgehost: board at {sim.where}: it is not board 'kitchen' (handshake "
                   f"failed: unknown board); check --key-file\n")


def test_a_peer_that_never_answers_times_out(edgehost, key_file, tcp_peer):
    address = tcp_peer(lambda conn, stop: stop.wait())
    err = one_line(edgehost("board", "--tcp", address, "--key-file", key_file, "--timeout", "1",
                            "info"))
    assert err == f"edgehost: board at tcp://{address}: no answer within 1 s\n"


def test_a_peer_that_hangs_up_during_the_handshake_says_so(edgehost, key_file, tcp_peer):
    address = tcp_peer(lambda conn, stop: None)  # accept, then close
    err = one_line(edgehost("board", "--tcp", address, "--key-file", key_file, "info"))
    assert err == (f"edgehost: board at tcp://{address}: the connection closed during the "
                   f"handshake\n")


def test_a_peer_that_sends_garbage_is_not_taken_for_a_wrong_key(edgehost, key_file, tcp_peer):
    def babble(conn: socket.socket, stop: threading.Event) -> None:
        while not stop.wait(0.05):
            try:
                conn.sendall(b"\x05hello\x00\x03ab\x00")
            except OSError:
                return

    address = tcp_peer(babble)
    err = one_line(edgehost("board", "--tcp", address, "--key-file", key_file, "--timeout", "1",
                            "info"))
    assert err.startswith(f"edgehost: board at tcp://{address}: only unreadable frames within "
                          f"1 s (")
    assert err.endswith("); check --baud and that it runs edgehost\n")


def mute_board(hello: dict | None):
    """A board end on the link that says `hello` (if any) and answers nothing else."""

    def serve(conn: socket.socket, stop: threading.Event) -> None:
        port = SocketPort(conn)
        link = board_link(b"sim", bytes.fromhex("5a" * 32), port.write, log=None,
                          max_body=256 * 1024)
        if hello is not None:
            link.on_open = lambda: link.send(dict(hello))
        link.open()
        while not stop.wait(0.005):
            try:
                link.poll(port)  # the link itself answers pings and acknowledges chunks
            except OSError:
                return

    return serve


MUTE_HELLO = {"t": "hello", "board": "sim", "firmware": "mute", "engine": "wasm3",
              "profile": "test", "max_frame": 1024, "window": 2, "free_mem": 0, "free_flash": 0,
              "actors": {}}


def test_a_board_that_does_not_answer_a_call_times_out(edgehost, key_file, tcp_peer):
    address = tcp_peer(mute_board(MUTE_HELLO))
    err = one_line(edgehost("board", "--tcp", address, "--key-file", key_file, "--timeout", "1",
                            "call", "echo", "Echo", "hello?"))
    assert err == f"edgehost: board at tcp://{address}: no answer to invoke within 1 s\n"


def test_a_board_that_takes_a_module_but_does_not_answer_times_out(edgehost, key_file,
                                                                    tcp_peer, signed):
    module, _ = signed("echo")
    address = tcp_peer(mute_board(MUTE_HELLO))
    err = one_line(edgehost("board", "--tcp", address, "--key-file", key_file, "--timeout", "1",
                            "install", module))
    assert err == f"edgehost: board at tcp://{address}: no answer to install within 1 s\n"


def test_a_board_that_opens_a_session_but_never_says_hello_times_out(edgehost, key_file,
                                                                     tcp_peer):
    address = tcp_peer(mute_board(None))
    err = one_line(edgehost("board", "--tcp", address, "--key-file", key_file, "--timeout", "1",
                            "info"))
    assert err == (f"edgehost: board at tcp://{address}: no hello within 1 s of the "
                   f"handshake\n")


def test_a_hello_lost_on_the_line_is_asked_for_again(edgehost, key_file, tcp_peer):
    def board_whose_first_hello_is_lost(conn: socket.socket, stop: threading.Event) -> None:
        port = SocketPort(conn)
        link = board_link(b"sim", bytes.fromhex("5a" * 32), port.write, log=None)
        sessions = []

        def opened() -> None:
            sessions.append(1)
            if len(sessions) > 1:
                link.send(dict(MUTE_HELLO))

        link.on_open = opened
        link.open()
        while not stop.wait(0.005):
            try:
                link.poll(port)
            except OSError:
                return

    address = tcp_peer(board_whose_first_hello_is_lost)
    done = edgehost("board", "--tcp", address, "--key-file", key_file, "--timeout", "10",
                    "info", "--json")
    assert done.code == 0, done
    assert json.loads(done.out)["firmware"] == "mute"


def test_a_hello_from_another_board_id_is_not_trusted(edgehost, key_file, tcp_peer):
    address = tcp_peer(mute_board(dict(MUTE_HELLO, board="kitchen")))
    err = one_line(edgehost("board", "--tcp", address, "--key-file", key_file, "info"))
    assert err == (f"edgehost: board at tcp://{address}: it says it is 'kitchen', not 'sim' as "
                   f"the key file says\n")


@pytest.mark.parametrize("content, rule", [
    (None, "cannot read it (No such file or directory)"),
    ("{not json", 'not JSON; it must be a JSON object {"board_id": "<id>", "pairing_key": '
                  '"<64 hex digits>"}'),
    ('["sim"]', 'it must be a JSON object {"board_id"'),
    ('{"pairing_key": "' + "5a" * 32 + '"}', "board_id must be a string of 1 to 64 bytes"),
    ('{"board_id": "sim", "pairing_key": "5a5a"}', "pairing_key must be 64 hex digits"),
    ('{"board_id": "sim", "pairing_key": "' + "zz" * 32 + '"}',
     "pairing_key must be 64 hex digits"),
])
def test_a_bad_key_file_is_named_with_the_rule_it_breaks(edgehost, tmp_path, content, rule):
    path = tmp_path / "board.key"
    if content is not None:
        path.write_text(content)
    err = one_line(edgehost("board", "--tcp", "127.0.0.1:9", "--key-file", path, "info"))
    assert err.startswith(f"edgehost: key file {path}: {rule}"), err


@pytest.mark.parametrize("argv, error", [
    (["--tcp", "localhost"], "--tcp 'localhost': expected HOST:PORT with a port from 1 to 65535"),
    (["--tcp", "localhost:99999"], "--tcp 'localhost:99999': expected HOST:PORT"),
    (["--tcp", "127.0.0.1:9", "--timeout", "0"], "--timeout 0: must be a number of seconds "
                                                 "above 0"),
    (["--port", "/dev/null", "--baud", "0"], "--baud 0: must be a speed in bits per second"),
])
def test_bad_options_are_one_line_errors(edgehost, key_file, argv, error):
    err = one_line(edgehost("board", *argv, "--key-file", key_file, "info"))
    assert err.startswith(f"edgehost: {error}"), err
