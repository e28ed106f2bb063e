"""Chunked bodies: split to the peer's frame size, window respected, loss recovered, stalls end."""

from __future__ import annotations

import hashlib

import pytest
from linkpair import LinkPair

from edgelink import frame
from edgelink.chunks import Outgoing

MODULE = bytes((i * 31 + i // 7) % 256 for i in range(100 * 1024))


def small_board(**kwargs) -> LinkPair:
    pair = LinkPair(board_kwargs={"max_frame": 512, "max_body": 200_000} | kwargs)
    pair.connect()
    pair.hello(max_frame=512, window=4)
    return pair


def install(pair: LinkPair, module: bytes = MODULE, sha256: bytes | None = None) -> int:
    digest = sha256 if sha256 is not None else hashlib.sha256(module).digest()
    return pair.gateway.send({"t": "install", "actor": "MECHO", "sha256": digest}, module)


def test_a_module_larger_than_a_frame_arrives_whole_and_verified():
    pair = small_board()
    request_id = install(pair)
    pair.pump()
    assert len(pair.at_board) == 1
    msg = pair.at_board[0]
    assert msg["t"] == "install" and msg["id"] == request_id and msg["body"] == MODULE
    assert not pair.gateway.busy and pair.gateway.drops.counts == {}


def test_the_gateway_never_sends_frames_larger_than_the_board_advertised():
    pair = small_board()
    install(pair)
    pair.pump()
    assert max(len(w) for w in pair.down.sent) <= frame.wire_size(512)
    assert len(pair.down.sent) > 200


def test_the_gateway_never_has_more_chunks_unacknowledged_than_the_window():
    pair = small_board()
    pair.up.tamper = lambda wire: b""  # the board's acknowledgements are lost
    before = len(pair.down.sent)
    install(pair)
    pair.pump()
    # the board's window of 4 frames: the announcement and 3 chunks
    assert len(pair.down.sent) - before == 4


def test_a_body_from_the_board_is_chunked_to_the_gateway_too():
    pair = small_board()
    result = bytes(range(256)) * 20
    request_id = pair.board.send({"t": "invoke_result", "id": 40}, result)
    pair.pump()
    assert request_id == 40
    assert [(m["t"], m["body"]) for m in pair.at_gateway] == [("invoke_result", result)]
    assert max(len(w) for w in pair.up.sent) <= frame.wire_size(512)


def test_a_lost_chunk_is_sent_again_and_the_transfer_completes():
    pair = small_board()
    lost = []

    def lose_the_fifth(wire):
        lost.append(wire)
        return b"" if len(lost) == 5 else wire

    pair.down.tamper = lose_the_fifth
    install(pair)
    pair.pump()  # the board's NAK for the frame after the gap: it goes again at once
    assert [m["body"] == MODULE for m in pair.at_board] == [True]
    assert pair.gateway.delivery.resent > 0 and pair.board.drops.counts["out of order"] >= 1


def test_a_stalled_transfer_is_abandoned_on_both_ends_then_the_dead_line_noticed():
    pair = small_board()
    gone: list[str] = []
    pair.board.on_dead = pair.gateway.on_dead = gone.append
    install(pair)
    pair.down.tamper = lambda wire: b""  # the line goes dead during the transfer
    pair.up.pending[:] = pair.up.pending[:1]
    pair.pump()
    for _ in range(4):
        pair.tick(2100)
    errors = [m for m in pair.at_gateway if m["t"] == "error"]
    assert [e["code"] for e in errors] == ["aborted"]
    assert pair.gateway._outgoing == {}
    assert pair.board._incoming == {}  # the board let its buffer go
    assert pair.at_board == [] and gone == []
    pair.tick(2100)  # nothing acknowledged for 10 s: the peer is taken for gone
    assert gone == ["no acknowledgement for 10 s"] * 2
    assert not pair.gateway.session.is_open and not pair.board.session.is_open


def test_the_board_abandons_a_transfer_whose_chunks_stop_coming():
    quiet = {"keepalive_ms": 60_000}  # no keepalive pings among the frames counted here
    pair = LinkPair(board_kwargs={"max_frame": 512, "max_body": 200_000} | quiet,
                    gateway_kwargs=quiet)
    pair.connect()
    pair.hello(max_frame=512, window=4)
    pair.gateway.send({"t": "install", "actor": "M", "sha256": bytes(32), "size": 50_000})
    pair.pump()
    assert len(pair.board._incoming) == 1
    sent_before = len(pair.up.sent)
    pair.tick(7900)
    assert len(pair.board._incoming) == 1  # 4 stall periods of 2 s before giving up
    pair.tick(200)
    assert pair.board._incoming == {} and pair.at_board == []
    assert len(pair.up.sent) == sent_before + 1  # the abort it tells the gateway


def test_reopening_the_session_interrupts_a_transfer_cleanly():
    pair = small_board()
    install(pair)
    pair.down.pending[:] = pair.down.pending[:20]
    pair.up.pending.clear()
    pair.board.open()
    pair.pump()
    # both ends let go; the gateway's owner (DeviceLink) sends the request again
    assert pair.board._incoming == {} and not pair.gateway.busy
    assert pair.at_board == [] and pair.at_gateway == []


def test_a_body_over_the_board_limit_is_refused_before_any_memory_is_taken():
    pair = small_board(max_body=10_000)
    request_id = install(pair)
    pair.pump()
    errors = [m for m in pair.at_gateway if m["t"] == "error"]
    assert errors[0]["code"] == "too_large" and errors[0]["id"] == request_id
    assert "body of 102400 bytes exceeds max_body 10000" in errors[0]["message"]
    assert pair.board._incoming == {} and pair.at_board == []


def test_a_second_body_while_the_board_receives_one_waits_its_turn():
    pair = small_board()
    first = install(pair)
    second = pair.gateway.send({"t": "install", "actor": "OTHER",
                                "sha256": hashlib.sha256(MODULE[:5000]).digest()}, MODULE[:5000])
    pair.pump()
    assert [(m["id"], len(m["body"])) for m in pair.at_board] == [(first, len(MODULE)),
                                                                   (second, 5000)]
    assert pair.at_gateway == [] and pair.board.drops.counts == {}
    assert not pair.gateway.busy


def test_bodies_beyond_the_waiting_room_are_refused_busy():
    pair = small_board()
    for name in ("A", "B", "C", "D", "E", "F"):
        pair.gateway.send({"t": "install", "actor": name, "sha256": bytes(32), "size": 5000})
    pair.pump()
    errors = [m for m in pair.at_gateway if m["t"] == "error"]
    # one coming in, four (the board's window) waiting
    assert [e["code"] for e in errors] == ["busy"]
    assert "already receiving 1 bodies and 4 waiting" in errors[0]["message"]


def test_a_lost_announcement_is_sent_again_and_the_body_arrives():
    pair = small_board()
    dropped = []

    def lose_the_first(wire: bytes) -> bytes:
        if not dropped:
            dropped.append(wire)
            return b""
        return wire

    pair.down.tamper = lose_the_first
    request_id = install(pair, MODULE[:3000])
    pair.pump()  # the chunks behind it are out of order: the announcement goes again
    assert [(m["id"], m["body"]) for m in pair.at_board] == [(request_id, MODULE[:3000])]
    assert pair.board.drops.counts.get("stray chunk") is None


def test_a_cancelled_body_is_let_go_on_both_ends_and_the_next_one_begins():
    pair = small_board()
    first = install(pair)
    second = pair.gateway.send({"t": "install", "actor": "OTHER",
                                "sha256": hashlib.sha256(MODULE[:5000]).digest()}, MODULE[:5000])
    pair.gateway.cancel(first, "the caller gave up")  # a few chunks of it are on their way
    pair.pump()
    assert first not in pair.board._incoming and not pair.gateway._outgoing.get(first)
    assert [m["id"] for m in pair.at_board] == [second]


def test_a_chunked_module_that_does_not_match_its_sha256_is_not_delivered():
    pair = small_board()
    request_id = install(pair, sha256=hashlib.sha256(b"other").digest())
    pair.pump()
    assert pair.at_board == []
    errors = [m for m in pair.at_gateway if m["t"] == "error"]
    assert errors[0]["code"] == "digest_mismatch" and errors[0]["id"] == request_id


def test_the_peer_abort_ends_the_senders_transfer():
    pair = small_board()
    request_id = install(pair)
    pair.board.send({"t": "abort", "id": request_id, "reason": "flash full"})
    pair.pump()
    assert not pair.gateway.busy
    assert {"t": "error", "id": request_id, "code": "aborted",
            "message": "peer aborted: flash full"} in pair.at_gateway


def test_outgoing_rejects_a_zero_window_with_a_clear_error():
    with pytest.raises(ValueError, match="window 0 must be at least 1"):
        Outgoing(2, b"x", 100, 0, 0)


def test_chunked_transfer_runs_on_the_board_interpreters(board_python):
    out = board_python(
        "from edgelink.hmac256 import sha256\n"
        "from edgelink.link import board_link, gateway_link\n"
        "key = bytes(range(32)); up = []; down = []\n"
        "b = board_link('b1', key, lambda d: up.append(bytes(d)), max_frame=300, log=None)\n"
        "g = gateway_link({b'b1': key}, lambda d: down.append(bytes(d)))\n"
        "def pump():\n"
        "    got = []\n"
        "    while up or down:\n"
        "        while up: g.feed(up.pop(0))\n"
        "        while down: got += b.feed(down.pop(0))\n"
        "    return got\n"
        "b.open(); pump()\n"
        "b.send({'t': 'hello', 'board': 'b1', 'firmware': '1', 'engine': 'wasm3',\n"
        "        'profile': 'p', 'max_frame': 300, 'window': 2, 'free_mem': 1,\n"
        "        'free_flash': 1, 'actors': {}})\n"
        "pump()\n"
        "module = bytes(i % 251 for i in range(20000))\n"
        "digest = sha256(module).digest()\n"
        "g.send({'t': 'install', 'actor': 'M', 'sha256': digest}, module)\n"
        "got = pump()\n"
        "print(len(got), got[0]['body'] == module, b._incoming)\n"
    )
    assert out.strip() == "1 True {}"
