"""A --nats URL that cannot lead to NATS is named for what it is: a web address, or a port
where something else answers."""

from __future__ import annotations

import socket
import threading

import pytest

from edgegate.wascap import KeyPair


@pytest.fixture
def other_server():
    """A TCP port where a server that is not NATS greets first, as SSH does."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)
            conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        for conn in accepted:
            conn.close()


COMMANDS = {"ctl": ["ctl", "get", "hosts"], "call": ["call", "greeter", "Greet", "x"]}


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_an_http_url_is_not_a_nats_url(edgehost, env, command):
    env["WASMCLOUD_CLUSTER_SEED"] = KeyPair.generate("cluster").seed
    got = edgehost(*command, "--nats", "http://127.0.0.1:4222")
    assert got.code == 1, got
    assert got.err == ("edgehost: --nats http://127.0.0.1:4222: http:// is not a NATS URL; give "
                       "nats://HOST:PORT (or tls://, ws://, wss://)\n")


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_a_port_where_another_server_answers_is_named_so(edgehost, env, other_server, command):
    env["WASMCLOUD_CLUSTER_SEED"] = KeyPair.generate("cluster").seed
    url = f"nats://127.0.0.1:{other_server}"
    got = edgehost(*command, "--nats", url)
    assert got.code == 1, got
    assert got.err == (f"edgehost: --nats {url}: what answers at 127.0.0.1:{other_server} is not "
                       f"a NATS server (it sent 'SSH-2.0-OpenSSH_9.2\\r\\n'; a NATS server greets "
                       f"with INFO); give the port of a nats-server\n")
