"""`edgehost board --nats URL …` where no NATS answers: one line and exit 1, within --timeout."""

from __future__ import annotations

import socket


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_no_nats_at_the_url_is_one_line(edgehost, key_file):
    url = f"nats://127.0.0.1:{unused_port()}"
    got = edgehost("board", "--nats", url, "--key-file", key_file, "--timeout", "5", "info")
    assert (got.code, got.out) == (1, ""), got
    assert got.err.startswith(f"edgehost: cannot reach NATS at {url}: "), got
    assert got.err.count("\n") == 1, got  # no traceback, once or every 2 s


def test_a_port_where_nats_never_answers_gives_up_at_the_timeout(edgehost, key_file):
    with socket.socket() as silent:  # takes the connection and never says INFO
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"nats://127.0.0.1:{silent.getsockname()[1]}"
        got = edgehost("board", "--nats", url, "--key-file", key_file, "--timeout", "1", "info")
    assert (got.code, got.out) == (1, ""), got
    assert got.err == (f"edgehost: cannot reach NATS at {url}: no answer within 1 s; start a "
                       f"nats-server there or give --nats URL\n")
