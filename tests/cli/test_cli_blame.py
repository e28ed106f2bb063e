"""Errors that name what is wrong: the folder, not the input; the name that matches two actors;
the board's own limit; an argument that is not text; call payloads msgpack cannot carry."""

from __future__ import annotations

import re
import socket
import threading

import pytest

from edgegate.wascap import ActorMetadata, KeyPair, sign_module

DEEP = "[" * 30_000 + "]" * 30_000  # deeper than Python recursion, short enough for argv
PAYLOADS = {"int over 64 bits": (str(2**64), "an integer msgpack cannot carry"),
            "deep nesting": (DEEP, "nests too deep")}
CALLERS = {"board call": ["board", "--tcp", "127.0.0.1:1", "--key-file", "{key}", "call", "M",
                          "Op", "--msgpack-json"],
           "call": ["call", "M", "Op", "--msgpack-json", "--nats", "nats://127.0.0.1:1"]}


@pytest.mark.parametrize(("payload", "said"), PAYLOADS.values(), ids=PAYLOADS.keys())
@pytest.mark.parametrize("caller", CALLERS.values(), ids=CALLERS.keys())
def test_json_payloads_msgpack_cannot_carry_are_one_line(edgehost, key_file, caller, payload,
                                                         said):
    got = edgehost(*[a.format(key=key_file) for a in caller], payload)
    assert got.code == 1 and got.err.count("\n") == 1, got
    assert said in got.err and "Traceback" not in got.err


def test_a_non_utf8_argument_is_refused_by_name(edgehost):
    got = edgehost("keys", "get", b"\xffseed")
    assert got.code == 2
    assert got.err == ("edgehost: argument '\\xffseed' is not UTF-8 text; give names and "
                       "payloads in UTF-8 (a binary payload goes in a file: --file) (see "
                       "edgehost --help)\n")


def test_keys_gen_never_makes_missing_folders(edgehost, tmp_path):
    got = edgehost("keys", "gen", "account", "-o", tmp_path / "missing" / "x.nk")
    assert got.code == 1
    assert got.err == (f"edgehost: keys gen -o {tmp_path}/missing/x.nk: folder "
                       f"{tmp_path}/missing does not exist (make it first)\n")
    assert not (tmp_path / "missing").exists()


def test_keys_gen_into_a_file_blames_the_file_not_an_existing_seed(edgehost, tmp_path):
    (tmp_path / "afile").write_text("notes\n")
    got = edgehost("keys", "gen", "account", "-o", tmp_path / "afile" / "x.nk")
    assert got.code == 1
    assert got.err == f"edgehost: keys gen -o {tmp_path}/afile/x.nk: {tmp_path}/afile is not a " \
                      f"folder\n"


def test_claims_sign_into_a_missing_folder_blames_the_folder(edgehost, actors, tmp_path):
    module = tmp_path / "echo.wasm"
    module.write_bytes(actors["echo"])
    got = edgehost("claims", "sign", module, "-o", tmp_path / "missing" / "x.wasm")
    assert got.code == 1
    assert got.err == (f"edgehost: claims sign -o {tmp_path}/missing/x.wasm: folder "
                       f"{tmp_path}/missing does not exist (make it first)\n")
    assert not (tmp_path / "keys").exists()  # refused before any key was made


@pytest.mark.parametrize("command", ["claims sign", "board install --dev-sign"])
def test_a_keys_folder_that_is_a_file_says_so(edgehost, env, actors, tmp_path, key_file, command):
    module = tmp_path / "echo.wasm"
    module.write_bytes(actors["echo"])
    keys = tmp_path / "keys"
    keys.write_text("not a folder\n")
    env["EDGEHOST_KEYS_DIR"] = str(keys)
    if command == "claims sign":
        got = edgehost("claims", "sign", module, "-o", tmp_path / "s.wasm")
    else:
        got = edgehost("board", "--tcp", "127.0.0.1:1", "--key-file", key_file, "install",
                       "--dev-sign", module)
    assert got.code == 1 and got.err.count("\n") == 1, got
    assert got.err.endswith(f": the keys folder {keys} is a file, not a folder (set "
                            f"EDGEHOST_KEYS_DIR to a folder)\n")


def _signed(actors, path, name, alias=None):
    path.write_bytes(sign_module(actors["echo"], KeyPair.generate("account"),
                                 KeyPair.generate("module"), ActorMetadata(name,
                                                                           call_alias=alias)))
    return path


def test_a_name_two_actors_share_is_ambiguous_not_missing(edgehost, sim, key_file, actors,
                                                          tmp_path):
    board = ["board", *sim.board_args, "--key-file", key_file]
    for n in (1, 2):
        module = _signed(actors, tmp_path / f"e{n}.wasm", "twin")
        assert edgehost(*board, "install", module).code == 0
    got = edgehost(*board, "call", "twin", "Echo", "hi")
    assert got.code == 1 and got.err.count("\n") == 1, got
    assert "2 actors have the name 'twin'" in got.err and "give the key of one" in got.err


def test_an_oversize_payload_names_the_config_limit(edgehost, sim, key_file, actors, tmp_path):
    board = ["board", *sim.board_args, "--key-file", key_file]
    assert edgehost(*board, "install", _signed(actors, tmp_path / "e.wasm", "echo")).code == 0
    big = tmp_path / "big"
    big.write_bytes(b"x" * 1_000_000)  # over any profile's max_payload
    got = edgehost(*board, "call", "echo", "Echo", "--file", big)
    assert got.code == 1
    assert re.fullmatch(r"edgehost: board sim: echo Echo: the payload of 1000000 bytes is over "
                        r"the board's limit of \d+ bytes \(max_payload in the limits of its "
                        r"config.json or profile\)\n", got.err), got.err
    assert "max_body" not in got.err


@pytest.fixture
def http_server():
    """A TCP port where an HTTP server answers 400 to anything."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    accepted: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)
            conn.recv(100)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()
        for conn in accepted:
            conn.close()


def test_an_http_server_on_the_port_is_not_blamed_on_the_key_alone(edgehost, http_server,
                                                                   key_file):
    got = edgehost("board", "--tcp", f"127.0.0.1:{http_server}", "--key-file", key_file,
                   "--timeout", "2", "info")
    assert got.code == 1 and got.err.count("\n") == 1, got
    assert "what answers there does not speak the edgehost link" in got.err
