"""The authenticated session: mutual proof of the pairing key, MACs, sequence numbers, drops."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from linkpair import BOARD_ID, PAIRING_KEY, LinkPair

from edgelink import session
from edgelink.hmac256 import HmacKey, hmac_sha256
from edgelink.mpack import packb


@pytest.mark.parametrize("key", [b"", b"k", bytes(32), bytes(64), bytes(range(100))])
@pytest.mark.parametrize("message", [b"", b"abc", bytes(1000)])
def test_hmac_matches_the_standard_library(key, message):
    assert hmac_sha256(key, message) == hmac.new(key, message, hashlib.sha256).digest()


def test_hmac_of_parts_is_the_hmac_of_their_concatenation():
    assert HmacKey(b"k").digest(b"ab", memoryview(b"cd"), bytearray(b"ef")) == \
        hmac.new(b"k", b"abcdef", hashlib.sha256).digest()


def test_board_and_gateway_open_a_session_and_exchange_messages(pair):
    pair.connect()
    assert pair.gateway.session.board_id == BOARD_ID
    pair.board.send({"t": "log", "level": "info", "text": "up"})
    pair.gateway.send({"t": "ping"})
    pair.pump()
    assert [m["t"] for m in pair.at_gateway] == ["log", "pong"]
    assert pair.board.drops.counts == {} and pair.gateway.drops.counts == {}


def test_a_board_with_the_wrong_key_never_gets_a_session():
    pair = LinkPair(board_key=bytes(32))
    pair.board.open()
    pair.pump()
    assert not pair.board.session.is_open and not pair.gateway.session.is_open
    assert pair.board.drops.counts == {"handshake": 1}
    assert "gateway proof does not match" in pair.board_log[0]


def test_a_gateway_that_does_not_know_the_key_cannot_fake_the_board_proof():
    # the gateway holds a different key for this board id: the board refuses its challenge
    pair = LinkPair(keys={BOARD_ID: bytes(32)})
    pair.board.open()
    pair.pump()
    assert not pair.board.session.is_open and not pair.gateway.session.is_open


def test_an_unknown_board_is_dropped_counted_and_logged_once():
    pair = LinkPair(keys={b"someone-else": PAIRING_KEY})
    for _ in range(3):
        pair.board.open()
        pair.pump()
    assert pair.gateway.drops.counts == {"unknown board": 3}
    assert len(pair.gateway_log) == 1 and "board-7" in pair.gateway_log[0]
    assert pair.down.sent == []


def test_a_forged_frame_is_dropped_and_not_delivered(connected):
    body = packb({"t": "log", "id": 1, "level": "info", "text": "forged"})
    forged = bytes([session.DATA]) + (99).to_bytes(4, "big") + body + bytes(session.MAC)
    connected.board.session._send(forged)  # the board's framing, someone else's record
    connected.pump()
    assert connected.at_gateway == []
    assert connected.gateway.drops.counts == {"bad MAC": 1}


def test_a_replayed_frame_is_dropped_and_the_reason_logged_once(connected):
    connected.board.send({"t": "log", "level": "info", "text": "once"})
    captured = connected.up.pending[-1]
    connected.pump()
    for _ in range(3):
        connected.up.pending.append(captured)
        connected.pump()
    assert [m["text"] for m in connected.at_gateway] == ["once"]
    assert connected.gateway.drops.counts == {"replay": 3}
    assert sum("replay" in line for line in connected.gateway_log) == 1


def test_frames_that_arrive_out_of_order_are_delivered_in_order(connected):
    connected.board.send({"t": "log", "level": "info", "text": "first"})
    connected.board.send({"t": "log", "level": "info", "text": "second"})
    first, second = connected.up.pending
    connected.up.pending[:] = [second, first]
    connected.pump()  # the second is dropped; the gateway's NAK has it sent again at once
    assert [m["text"] for m in connected.at_gateway] == ["first", "second"]
    # go-back-N sends both again: the copy of the first is dropped as a replay
    assert connected.gateway.drops.counts == {"out of order": 1, "replay": 1}
    assert not connected.board.busy


def test_a_frame_from_the_gateway_cannot_be_reflected_back_to_it(connected):
    connected.gateway.send({"t": "ping"})
    reflected = connected.down.pending[-1]
    connected.pump()
    connected.up.pending.append(reflected)
    connected.pump()
    assert [m["t"] for m in connected.at_gateway] == ["pong"]
    assert connected.gateway.drops.counts == {"bad MAC": 1}


def test_data_before_the_handshake_is_dropped_as_no_session(pair):
    pair.board.session.is_open = True  # a board that wrongly believes it has a session
    pair.board.session._send_key = HmacKey(bytes(32))
    pair.board.send({"t": "log", "level": "info", "text": "early"})
    pair.pump()
    assert pair.at_gateway == [] and pair.gateway.drops.counts == {"no session": 1}


def test_reconnecting_opens_a_new_session_with_fresh_nonces_and_old_frames_fail(connected):
    connected.board.send({"t": "log", "level": "info", "text": "old"})
    old_frame = connected.up.pending[-1]
    connected.pump()
    opens_before = [w for w in connected.up.sent if w]
    connected.board.open()
    connected.pump()
    assert connected.board.session.opened == 2 and connected.gateway.session.opened == 2
    new_open = connected.up.sent[-2]  # OPEN, then PROOF
    assert new_open not in opens_before
    connected.up.pending.append(old_frame)
    connected.pump()
    assert [m["text"] for m in connected.at_gateway] == ["old"]
    assert connected.gateway.drops.counts == {"bad MAC": 1}


def test_a_replayed_handshake_does_not_open_a_session(pair):
    pair.connect()
    recorded = list(pair.up.sent)
    fresh = LinkPair()
    for wire in recorded:  # OPEN and PROOF of the first session, replayed to a new gateway
        fresh.at_gateway += fresh.gateway.feed(wire)
    assert not fresh.gateway.session.is_open
    assert fresh.gateway.drops.counts == {"handshake": 1}


def test_the_gateway_keeps_its_session_when_someone_replays_an_open_request(connected):
    connected.up.pending.append(connected.up.sent[0])  # the board's first OPEN, again
    connected.pump()
    connected.board.send({"t": "log", "level": "info", "text": "still here"})
    connected.pump()
    assert [m["text"] for m in connected.at_gateway] == ["still here"]


def test_the_gateway_can_ask_the_board_to_open_a_session(pair):
    pair.gateway.session.ask()
    pair.pump()
    assert pair.board.session.is_open and pair.gateway.session.is_open


def test_the_board_retries_the_handshake_with_a_new_nonce_when_nobody_answers(pair):
    pair.up.tamper = lambda wire: b""  # the gateway hears nothing
    pair.board.open()
    pair.pump()
    pair.tick(1500)
    opens = list(pair.up.sent)
    assert len(opens) == 2 and opens[0] != opens[1]
    pair.up.tamper = None
    pair.tick(1500)
    assert pair.board.session.is_open and pair.gateway.session.is_open


@pytest.mark.parametrize("board_id, key, rule", [
    (b"", PAIRING_KEY, "board_id must be a string of 1 to 64 bytes"),
    (b"x" * 65, PAIRING_KEY, "board_id must be a string of 1 to 64 bytes"),
    (BOARD_ID, b"short", "pairing_key must be 64 hex digits"),
])
def test_bad_board_identity_is_refused_with_a_clear_error(board_id, key, rule):
    with pytest.raises(session.SessionError, match=rule):
        session.BoardSession(board_id, key, lambda *parts: None, None)


def test_sending_without_a_session_is_a_clear_error(pair):
    from edgelink.link import LinkError
    with pytest.raises(LinkError, match="cannot send: no open session"):
        pair.board.send({"t": "ping"})


def test_session_runs_on_the_board_interpreters(board_python):
    out = board_python(
        "from edgelink.link import board_link, gateway_link\n"
        "key = bytes(range(32)); up = []; down = []\n"
        "b = board_link('b1', key, lambda d: up.append(bytes(d)), log=None)\n"
        "g = gateway_link({b'b1': key}, lambda d: down.append(bytes(d)))\n"
        "def pump():\n"
        "    got = []\n"
        "    while up or down:\n"
        "        while up: got += g.feed(up.pop(0))\n"
        "        while down: got += b.feed(down.pop(0))\n"
        "    return got\n"
        "b.open(); pump()\n"
        "b.send({'t': 'log', 'level': 'info', 'text': 'hi'})\n"
        "replay = up[-1]; got = pump(); up.append(replay); pump()\n"
        "print(b.session.is_open, g.session.is_open, got[0]['text'], g.drops.counts)\n"
    )
    assert out.strip() == "True True hi {'replay': 1}"


def test_a_challenge_that_crosses_a_newer_open_is_stale_not_a_wrong_key(pair):
    seen: list[str] = []
    pair.board.drops.on_drop = lambda reason, detail: seen.append(detail)
    pair.board.open()
    pair.gateway.feed(pair.up.pending.pop())  # the gateway answers the first OPEN...
    pair.board.open()  # ...while the board, asked again, has sent another
    pair.pump()
    assert pair.board.session.is_open and pair.gateway.session.is_open
    assert seen == [session.STALE_CHALLENGE]


def test_a_burst_of_junk_challenges_counts_as_one_mismatch_per_open(pair):
    seen: list[str] = []
    pair.board.drops.on_drop = lambda reason, detail: seen.append(detail)
    pair.board.open()
    pair.up.pending.clear()
    for i in range(12):
        pair.board.feed(pair.gateway.writer.encode(bytes([session.CHALLENGE]),
                                                   bytes([i]) * 48))
    assert seen.count(session.GATEWAY_PROOF_MISMATCH) == 1
    assert seen.count(session.REPEATED_MISMATCH) == 11
    pair.connect()  # and the real gateway still gets in
