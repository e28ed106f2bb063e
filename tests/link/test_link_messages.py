"""Messages: the catalogue round trips, request ids, error replies to unknown or malformed input."""

from __future__ import annotations

import hashlib

import pytest
from linkpair import hello_message

from edgelink import messages
from edgelink.link import LinkError, board_link, gateway_link
from edgelink.mpack import packb

DIGEST = hashlib.sha256(b"module").digest()

# one well-formed example of every message type, with the end that sends it
SAMPLES = {
    "hello": ("board", hello_message() | {"actors": {"MABC": DIGEST}}),
    "ready": ("gateway", {"t": "ready", "host": "NHOST", "max_frame": 16384, "window": 8}),
    "install": ("gateway", {"t": "install", "actor": "MABC", "sha256": DIGEST,
                            "body": b"module"}),
    "installed": ("board", {"t": "installed", "actor": "MABC", "sha256": DIGEST}),
    "remove": ("gateway", {"t": "remove", "actor": "MABC"}),
    "removed": ("board", {"t": "removed", "actor": "MABC"}),
    "swap": ("gateway", {"t": "swap", "actor": "MABC", "sha256": DIGEST, "body": b"module"}),
    "swapped": ("board", {"t": "swapped", "actor": "MABC", "sha256": DIGEST}),
    "invoke": ("gateway", {"t": "invoke", "actor": "MABC", "op": "Echo", "origin": "MXYZ",
                           "body": b"\x01\x02"}),
    "contract_call": ("gateway", {"t": "contract_call", "contract": "edgehost:gpio",
                                  "op": "Gpio.Read", "body": b"\x81\xa3pin\x04"}),
    "invoke_result": ("board", {"t": "invoke_result", "body": b"\x01\x02"}),
    "get_claims": ("gateway", {"t": "get_claims", "actor": "MABC"}),
    "native": ("gateway", {"t": "native", "actor": "MABC", "binding": {"arch": "x86"},
                           "sig": DIGEST, "body": b"M\x06\x07\x1f"}),
    "claims": ("board", {"t": "claims", "actor": "MABC", "body": b"a.b.c"}),
    "host_call": ("board", {"t": "host_call", "actor": "MABC", "binding": "default",
                            "namespace": "wasmcloud:keyvalue", "op": "Get", "body": b"k"}),
    "host_result": ("gateway", {"t": "host_result", "body": b"v"}),
    "health": ("board", {"t": "health", "free_mem": 1, "free_flash": 2, "uptime_ms": 3,
                         "actors": {"MABC": "healthy"}}),
    "log": ("board", {"t": "log", "level": "warn", "text": "low memory"}),
    "event": ("board", {"t": "event", "kind": "button", "data": {"pin": 0}}),
    "ping": ("gateway", {"t": "ping"}),
    "pong": ("board", {"t": "pong"}),
    "error": ("board", {"t": "error", "code": "busy", "message": "try later"}),
}


def test_every_catalogue_type_has_a_sample():
    link_internal = {"chunk", "chunk_ack", "abort"}
    assert set(SAMPLES) == set(messages.CATALOGUE) - link_internal


def test_every_catalogue_entry_is_spelled_with_the_catalogues_own_names():
    m = messages
    codes = {m.UNKNOWN_TYPE, m.MALFORMED, m.TOO_LARGE, m.DIGEST, m.ABORTED, m.BUSY, m.STORE,
             m.REFUSED, m.UNKNOWN_ACTOR, m.GUEST_ERROR, m.TRAP, m.FAILED, m.HOST_CALL,
             m.NO_LATTICE}
    for t, (sender, role, fields, flags, own_codes) in m.CATALOGUE.items():
        assert sender in (m.BOARD, m.GATEWAY, m.EITHER), t
        assert role in (m.REQUEST, m.REPLY, m.REPORT, m.SESSION, m.LINK), t
        assert all(kind in (m.STR, m.INT, m.BIN, m.MAP, m.LIST) for _, kind in fields), t
        assert set(flags.split()) <= {m.BODY, m.ONCE}, t
        assert m.ONCE not in flags or (sender, role) == (m.GATEWAY, m.REQUEST), t
        assert set(own_codes) <= codes, t


def test_the_samples_come_from_the_end_the_catalogue_says_sends_them():
    for t, (sender, _) in SAMPLES.items():
        assert messages.sender(t) in (sender, messages.EITHER), t


@pytest.mark.parametrize("t", sorted(SAMPLES))
def test_each_message_type_arrives_as_sent(connected, t):
    sender, msg = SAMPLES[t]
    msg = dict(msg)
    body = msg.pop("body", None)
    link = connected.board if sender == "board" else connected.gateway
    request_id = link.send(msg, body)
    connected.pump()
    received = connected.at_gateway if sender == "board" else connected.at_board
    if t == "ping":  # answered by the link itself, and the pong comes back
        assert connected.at_gateway == [{"t": "pong", "id": request_id}]
        return
    assert len(received) == 1
    got = received[0]
    assert got["t"] == t and got["id"] == request_id
    assert {k: v for k, v in got.items() if k != "body"} == msg
    assert got.get("body") == body


def test_request_ids_are_odd_on_the_board_and_even_on_the_gateway(connected):
    board_ids = [connected.board.new_id() for _ in range(3)]
    gateway_ids = [connected.gateway.new_id() for _ in range(3)]
    assert all(i % 2 == 1 for i in board_ids) and len(set(board_ids)) == 3
    assert all(i % 2 == 0 for i in gateway_ids) and len(set(gateway_ids)) == 3


def test_several_requests_in_flight_are_told_apart_by_id(connected):
    ids = [connected.gateway.send({"t": "remove", "actor": f"M{i}"}) for i in range(3)]
    connected.pump()
    assert [(m["id"], m["actor"]) for m in connected.at_board] == \
        [(ids[0], "M0"), (ids[1], "M1"), (ids[2], "M2")]


def send_raw(connected, value) -> list[dict]:
    """The gateway sends an authenticated body the board must refuse; returns its reply."""
    connected.gateway.session.send(value if isinstance(value, bytes) else packb(value))
    connected.pump()
    assert connected.at_board == []
    return connected.at_gateway


@pytest.mark.parametrize("value, code, text", [
    ({"t": "reboot", "id": 8}, "unknown_type", "unknown message type 'reboot'"),
    ({"id": 8}, "unknown_type", "unknown message type None"),
    ({"t": "remove", "id": 8}, "malformed", "remove: field 'actor' must be str, got None"),
    ({"t": "remove", "id": 8, "actor": 5}, "malformed", "field 'actor' must be str, got 5"),
    ({"t": "ping", "id": True}, "malformed", "message id True is not an integer"),
    ({"t": "ping", "id": -1}, "malformed", "message id -1 is not an integer"),
    ({"t": "ping"}, "malformed", "message id None is not an integer"),
    ([1, 2], "malformed", "message is a list, not a map"),
    ({"t": "invoke", "id": 8, "actor": "M", "op": "o", "origin": "o"}, "malformed",
     "invoke: needs a body or a size"),
    ({"t": "invoke", "id": 8, "actor": "M", "op": "o", "origin": "o", "size": 9},
     "malformed", "a chunked body needs a 32-byte sha256"),
    ({"t": "invoke", "id": 8, "actor": "M", "op": "o", "origin": "o", "body": "text"},
     "malformed", "invoke: body must be bin"),
    ({"t": "installed", "id": 8, "actor": "M", "sha256": b"short"}, "malformed",
     "installed: sha256 must be 32 bytes"),
    ({"t": "remove", "id": 8, "actor": "M", "link": 7}, "malformed",
     "remove: field 'link' must be str, got 7"),
    (b"\xc1", "malformed", "type byte 0xc1 is not in the link's subset"),
    (b"\x81\xa1t", "malformed", "truncated"),
])
def test_unknown_or_malformed_messages_get_an_error_reply_not_a_crash(connected, value, code,
                                                                      text):
    replies = send_raw(connected, value)
    assert len(replies) == 1
    reply = replies[0]
    assert reply["t"] == "error" and reply["code"] == code and text in reply["message"]
    expected_id = value.get("id") if isinstance(value, dict) and code == "unknown_type" else None
    if expected_id is not None:
        assert reply["id"] == expected_id


def test_an_inline_body_that_does_not_match_its_sha256_is_refused(connected):
    request_id = connected.gateway.send({"t": "install", "actor": "M", "sha256": DIGEST},
                                        b"not the module")
    connected.pump()
    assert connected.at_board == []
    assert connected.at_gateway[0]["t"] == "error"
    assert connected.at_gateway[0]["code"] == "digest_mismatch"
    assert connected.at_gateway[0]["id"] == request_id


def test_a_message_too_large_for_a_frame_is_a_clear_error(connected):
    with pytest.raises(LinkError, match="log message of .* bytes exceeds the frame limit"):
        connected.board.send({"t": "log", "level": "info", "text": "x" * 2000})


def test_a_value_outside_the_subset_is_a_clear_error(connected):
    with pytest.raises(LinkError, match="cannot encode event message: msgpack: cannot encode"):
        connected.board.send({"t": "event", "kind": "k", "data": {"when": object()}})


def test_the_peer_limits_come_from_hello_and_ready(connected):
    connected.board.send(hello_message(max_frame=300, window=2))
    connected.pump()
    assert (connected.gateway.peer_max_frame, connected.gateway.peer_window) == (300, 2)
    assert (connected.board.peer_max_frame, connected.board.peer_window) == (16384, 8)


def test_messages_are_checked_the_same_on_the_board_interpreters(board_python):
    out = board_python(
        "from edgelink import messages\n"
        "from edgelink.mpack import packb\n"
        "for v in ({'t': 'reboot', 'id': 2}, {'t': 'remove', 'id': 2}, {'t': 'ping', 'id': True},\n"
        "          {'t': 'remove', 'id': 2, 'actor': 'M'}):\n"
        "    try:\n"
        "        print(messages.decode(packb(v))['t'])\n"
        "    except messages.MessageError as e:\n"
        "        print(e.code, e.request_id)\n"
    )
    assert out.split("\n")[:4] == ["unknown_type 2", "malformed 2", "malformed 0", "remove"]


@pytest.mark.parametrize("build, rule", [
    (lambda: board_link(b"b", bytes(32), print, max_frame=100),
     "max_frame 100 is below the protocol minimum 256"),
    (lambda: board_link(b"b", bytes(32), print, max_frame=8192),
     "a board's max_frame 8192 is above 4096"),
    (lambda: gateway_link({}, print, max_frame=1024),
     "a gateway's max_frame 1024 is below the protocol's 4096"),
])
def test_frame_limits_outside_the_protocol_are_refused_clearly(build, rule):
    with pytest.raises(LinkError, match=rule):
        build()


def test_before_ready_the_board_may_say_hello_with_several_actors(pair):
    pair.connect()
    actors = {"M" + "A" * 55 + str(i): DIGEST for i in range(8)}
    pair.board.send(hello_message() | {"actors": actors})
    pair.pump()
    assert pair.at_gateway[0]["actors"] == actors
