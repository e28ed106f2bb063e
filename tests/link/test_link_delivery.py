"""Reliable delivery: lost, duplicated and reordered frames recovered, acks riding on replies,
the window kept, a peer that is gone noticed in bounded time."""

from __future__ import annotations

import pytest
from linkpair import LinkPair

from edgelink import session
from edgelink.delivery import ACK_DELAY_MS, DEAD_MS, KEEPALIVE_MS, MIN_RTO_MS
from edgelink.link import LinkError


def lose(count: int = 1):
    """A tamper that loses the next `count` writes on a wire."""
    lost: list[bytes] = []

    def tamper(wire: bytes) -> bytes:
        if len(lost) < count:
            lost.append(wire)
            return b""
        return wire

    return tamper


def invoke(pair: LinkPair, payload: bytes = b"hi") -> int:
    return pair.gateway.send({"t": "invoke", "actor": "M", "op": "Echo", "origin": ""}, payload)


def answer(pair: LinkPair) -> None:
    for msg in pair.at_board:
        pair.board.send({"t": "invoke_result", "id": msg["id"]}, msg["body"])
    pair.at_board.clear()


def test_a_lost_request_is_sent_again_and_delivered_once(connected):
    connected.down.tamper = lose()
    request_id = invoke(connected)
    connected.pump()
    assert connected.at_board == []
    connected.tick(1000)
    assert [m["id"] for m in connected.at_board] == [request_id]
    connected.tick(5000)
    assert [m["id"] for m in connected.at_board] == [request_id]


def test_a_lost_reply_is_sent_again_and_delivered_once(connected):
    request_id = invoke(connected)
    connected.pump()
    connected.up.tamper = lose()
    answer(connected)
    connected.pump()
    assert connected.at_gateway == []
    connected.tick(1000)
    assert [(m["t"], m["id"]) for m in connected.at_gateway] == [("invoke_result", request_id)]
    assert not connected.board.busy and not connected.gateway.busy


def test_acknowledgements_that_are_only_late_cost_one_copy_not_the_window(connected):
    # on a slow line the frames wait in the queue to the wire, and the answers with them
    ids = [invoke(connected, b"late %d" % i) for i in range(4)]
    queued = len(connected.down.pending)
    connected.clock.now += 1000
    connected.gateway.tick()
    assert len(connected.down.pending) == queued + 1  # the oldest went again, alone
    connected.pump()
    assert [m["id"] for m in connected.at_board] == ids
    # the copy was answered with a plain acknowledgement: nothing more went again
    assert connected.gateway.delivery.resent == 1
    assert connected.board.drops.counts == {session.DROP_REPLAY: 1}


def test_after_a_timeout_the_next_one_waits_twice_as_long_until_a_round_trip_is_measured(
        connected):
    connected.down.tamper = lose()
    invoke(connected)
    connected.tick(MIN_RTO_MS)  # the request goes again and is answered (its copy: no measure)
    assert connected.gateway.delivery.resent == 1 and len(connected.at_board) == 1
    connected.down.tamper = lose()
    invoke(connected)
    connected.tick(MIN_RTO_MS)
    assert connected.gateway.delivery.resent == 1  # a round trip may be this long now
    connected.tick(MIN_RTO_MS)
    assert connected.gateway.delivery.resent == 2 and len(connected.at_board) == 2


def test_a_frame_that_arrives_twice_is_delivered_once(connected):
    connected.down.tamper = lambda wire: wire + wire
    invoke(connected)
    connected.pump()
    assert len(connected.at_board) == 1
    assert connected.board.drops.counts == {"replay": 1}


def test_on_a_clean_line_acknowledgements_ride_on_the_replies(connected):
    alone = {"board": 0, "gateway": 0}
    for end in ("board", "gateway"):
        link_session = getattr(connected, end).session
        send_ack = link_session.send_ack

        def counted(end=end, send_ack=send_ack):
            alone[end] += 1
            send_ack()

        link_session.send_ack = counted
    for _ in range(20):  # a caller that sends the next request as soon as it has the answer
        invoke(connected)
        carry(connected)
        answer(connected)
        carry(connected)
    assert alone == {"board": 0, "gateway": 0}
    connected.tick(ACK_DELAY_MS)  # only the last answer needs an acknowledgement of its own
    assert alone == {"board": 0, "gateway": 1}
    assert connected.gateway.delivery.resent == 0 and connected.board.delivery.resent == 0


def carry(pair: LinkPair) -> None:
    """Move the bytes on the wire with no time passing (pump() lets acks fall due)."""
    while pair.up.pending or pair.down.pending:
        while pair.up.pending:
            pair.at_gateway += pair.gateway.feed(pair.up.pending.pop(0))
        while pair.down.pending:
            pair.at_board += pair.board.feed(pair.down.pending.pop(0))


def test_the_gateway_never_has_more_frames_unacknowledged_than_the_board_window(connected):
    connected.up.tamper = lambda wire: b""  # nothing comes back
    before = len(connected.down.sent)
    for _ in range(10):
        invoke(connected)
    connected.pump()
    assert len(connected.down.sent) - before == 4  # the hello's window


def test_messages_beyond_the_backlog_are_refused_with_a_clear_error():
    pair = LinkPair(gateway_kwargs={"max_backlog": 3})
    pair.connect()
    pair.hello(window=1)
    pair.down.tamper = lambda wire: b""
    for _ in range(4):  # one on the line, three waiting
        invoke(pair)
    with pytest.raises(LinkError, match="3 messages already wait for the peer's window of 1"):
        invoke(pair)


def test_a_peer_that_goes_silent_is_noticed_in_bounded_time(connected):
    gone: list[str] = []
    connected.gateway.on_dead = gone.append
    connected.board.on_dead = lambda reason: None
    connected.up.tamper = connected.down.tamper = lambda wire: b""  # the cable is cut
    connected.tick(KEEPALIVE_MS)  # a quiet line: the gateway asks for a sign of life
    assert gone == []
    for _ in range(DEAD_MS // 500):
        connected.tick(500)
    assert gone == [f"no acknowledgement for {DEAD_MS // 1000} s"]
    assert not connected.gateway.session.is_open


def test_a_board_whose_gateway_is_gone_says_so(connected):
    connected.up.tamper = connected.down.tamper = lambda wire: b""
    connected.board.send({"t": "log", "level": "info", "text": "anyone?"})
    with pytest.raises(LinkError, match="the peer is gone: no acknowledgement for 10 s"):
        for _ in range(DEAD_MS // 500 + 1):
            connected.tick(500)


def test_a_quiet_line_costs_a_keepalive_and_its_acknowledgement(connected):
    before = (len(connected.up.sent), len(connected.down.sent))
    connected.tick(KEEPALIVE_MS)
    # at most a keepalive and an acknowledgement each way (both ends may ask at once)
    assert len(connected.up.sent) - before[0] <= 2 and len(connected.down.sent) - before[1] <= 2
    assert connected.board.delivery.heard_at == connected.gateway.delivery.heard_at == \
        connected.clock.now
    assert connected.at_board == [] and connected.at_gateway == []  # nobody is bothered


def test_an_acknowledgement_with_a_forged_mac_is_dropped(connected):
    invoke(connected)
    connected.down.pending.clear()
    forged = bytes([session.ACK, 0, 1]) + bytes(session.MAC)
    connected.board.session._send(forged)
    connected.pump()
    assert connected.gateway.drops.counts == {"bad MAC": 1}
    assert connected.gateway.busy  # the invoke is still owed an acknowledgement


def test_delivery_recovers_a_lost_frame_on_the_board_interpreters(board_python):
    out = board_python(
        "from edgelink.link import board_link, gateway_link\n"
        "now = [0]; clock = lambda: now[0]\n"
        "key = bytes(range(32)); up = []; down = []; lose = [0]\n"
        "b = board_link('b1', key, lambda d: up.append(bytes(d)), log=None, clock=clock)\n"
        "g = gateway_link({b'b1': key}, lambda d: down.append(bytes(d)), clock=clock)\n"
        "def pump():\n"
        "    got = []\n"
        "    while up or down:\n"
        "        while up: got += g.feed(up.pop(0))\n"
        "        while down:\n"
        "            wire = down.pop(0)\n"
        "            if lose[0]: lose[0] -= 1\n"
        "            else: got += b.feed(wire)\n"
        "    return got\n"
        "b.open(); pump()\n"
        "lose[0] = 1; g.send({'t': 'log', 'level': 'info', 'text': 'again'}); got = pump()\n"
        "now[0] += 1500; got += b.tick() + g.tick() + pump()\n"
        "print(len(got), got[0]['text'], b.drops.counts, g.delivery.resent)\n"
    )
    assert out.strip() == "1 again {} 1"
