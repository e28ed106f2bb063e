"""Robustness: random bytes, bit flips, truncation, splicing, duplication and reordering never
crash the decoder or the session, and never deliver a corrupted, forged or replayed message."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from linkpair import LinkPair

from edgelink import frame, messages
from edgelink.mpack import packb

SETTINGS = settings(max_examples=150, deadline=None)


def feed_in_pieces(reader_or_link, data: bytes, cuts: list[int]) -> list:
    out = []
    points = sorted({c % (len(data) + 1) for c in cuts}) + [len(data)]
    start = 0
    for point in points:
        piece = data[start:point]
        start = point
        if piece:
            got = reader_or_link.feed(piece)
            out += [bytes(r) for r in got] if isinstance(reader_or_link, frame.FrameReader) \
                else list(got)
    return out


@SETTINGS
@given(st.binary(max_size=3000), st.lists(st.integers(0, 3000), max_size=10))
def test_the_decoder_takes_any_bytes_without_raising_or_growing(data, cuts):
    reader = frame.FrameReader(256)
    sizes = (len(reader._raw), len(reader._plain))
    feed_in_pieces(reader, data, cuts)
    assert (len(reader._raw), len(reader._plain)) == sizes


@SETTINGS
@given(st.lists(st.tuples(st.binary(max_size=250), st.binary(max_size=40)), max_size=8),
       st.lists(st.integers(0, 5000), max_size=10))
def test_every_intact_frame_survives_noise_around_it(records_and_noise, cuts):
    writer, reader = frame.FrameWriter(256), frame.FrameReader(256)
    stream = b""
    for record, noise in records_and_noise:
        stream += noise + b"\x00" + bytes(writer.encode(record))
    got = feed_in_pieces(reader, stream, cuts)
    assert got == [record for record, _ in records_and_noise]


def board_frames(count: int = 12) -> tuple[LinkPair, list[bytes]]:
    """A connected pair and the wire bytes of `count` messages the board sent."""
    pair = LinkPair()
    pair.connect()
    pair.hello()
    for i in range(count):  # straight through the session: no window holds them back
        pair.board.session.send(packb({"t": "log", "id": 1, "level": "info",
                                       "text": "message %d" % i}))
    frames = list(pair.up.pending)
    pair.up.pending.clear()
    return pair, frames


mutation = st.one_of(
    st.tuples(st.just("intact"), st.integers(0, 11)),
    st.tuples(st.just("flip"), st.integers(0, 11), st.integers(0, 10_000), st.integers(0, 7)),
    st.tuples(st.just("truncate"), st.integers(0, 11), st.integers(0, 10_000)),
    st.tuples(st.just("splice"), st.integers(0, 11), st.integers(0, 11), st.integers(0, 10_000)),
    st.tuples(st.just("junk"), st.binary(max_size=80)),
    st.tuples(st.just("reflect"), st.integers(0, 3)),
)


def build_piece(op, frames: list[bytes], down: list[bytes]) -> bytes:
    """One delimited piece of the attacker's stream; the delimiter is never touched."""
    kind = op[0]
    if kind == "intact":
        return frames[op[1]]
    if kind == "flip":
        f = bytearray(frames[op[1]])
        f[op[2] % (len(f) - 1)] ^= 1 << op[3]
        return bytes(f)
    if kind == "truncate":
        f = frames[op[1]]
        return f[:op[2] % (len(f) - 1)] + b"\x00"
    if kind == "splice":
        a, b = frames[op[1]], frames[op[2]]
        cut = op[3] % (min(len(a), len(b)) - 1)
        return a[:cut] + b[cut:]
    if kind == "junk":
        return op[1] + b"\x00"
    return down[op[1] % len(down)]


@settings(max_examples=200, deadline=None)
@given(st.lists(mutation, max_size=30), st.lists(st.integers(0, 10_000), max_size=12))
def test_the_session_delivers_only_genuine_fresh_messages_in_order(ops, cuts):
    pair, frames = board_frames()
    down = list(pair.down.sent)  # the gateway's own frames, reflected back at it
    stream = b""
    expected = []
    last = -1
    for op in ops:
        piece = build_piece(op, frames, down)
        stream += piece
        if piece in frames and frames.index(piece) == last + 1:  # untouched, the next one
            last = frames.index(piece)
            expected.append("message %d" % last)
    delivered = feed_in_pieces(pair.gateway, stream, cuts)
    assert [m["text"] for m in delivered] == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=120), max_size=20))
def test_random_authenticated_bodies_never_crash_the_board(bodies):
    """A gateway that knows the key but sends nonsense gets error replies, never a crash."""
    pair = LinkPair()
    pair.connect()
    for body in bodies:
        pair.gateway.session.send(body)
    pair.pump()
    replies = [m for m in pair.at_gateway if m["t"] in ("error", "pong")]
    assert len(pair.at_board) + len(replies) == len(bodies)  # each one answered or delivered
    assert all(m["t"] in messages.CATALOGUE for m in pair.at_board)


def test_a_long_fuzz_run_over_decoder_and_session():
    """A seeded run of many random corruptions of a live session, in both directions."""
    rng = random.Random(6)
    pair, frames = board_frames(30)
    for _ in range(30):
        pair.gateway.send({"t": "ping"})
    to_board = list(pair.down.pending)
    pair.down.pending.clear()
    delivered_up, delivered_down = [], []
    for _ in range(400):
        pool, target, sink = (frames, pair.gateway, delivered_up) if rng.random() < 0.5 \
            else (to_board, pair.board, delivered_down)
        piece = bytearray(rng.choice(pool))
        for _ in range(rng.randrange(0, 4)):
            piece[rng.randrange(len(piece))] = rng.randrange(256)
        if rng.random() < 0.3:
            piece = piece[:rng.randrange(len(piece) + 1)]
        if rng.random() < 0.2:
            piece += bytes(rng.randrange(256) for _ in range(rng.randrange(50)))
        sink += target.feed(bytes(piece))
    texts = [m["text"] for m in delivered_up if m["t"] == "log"]
    numbers = [int(t.split()[1]) for t in texts]
    assert numbers == sorted(set(numbers))  # never a repeat, never out of order
    assert all(m["t"] in ("log", "error") for m in delivered_up)
    assert all(m["t"] in ("ping", "error") for m in delivered_down)
    assert pair.gateway.drops.total() > 0 and pair.board.drops.total() > 0


def test_the_board_never_allocates_beyond_max_body_for_announced_transfers():
    pair = LinkPair(board_kwargs={"max_body": 4096, "max_transfers": 1})
    pair.connect()
    for i, size in enumerate([2**31, 10**9, 4097, 100_000]):
        pair.gateway.session.send(packb({"t": "install", "id": 2 * i + 2, "actor": "M",
                                         "sha256": bytes(32), "size": size}))
    pair.pump()
    assert pair.board._incoming == {}
    assert [m["code"] for m in pair.at_gateway] == ["too_large"] * 4


def test_an_unknown_type_as_long_as_a_frame_still_gets_a_short_error_reply(connected):
    connected.gateway.session.send(packb({"t": "x" * 200, "id": 2}))
    connected.pump()
    assert [m["code"] for m in connected.at_gateway] == ["unknown_type"]
    assert len(connected.at_gateway[0]["message"]) < 100


def test_fuzzing_decoder_codec_and_session_on_the_board_interpreters(board_python):
    out = board_python(
        "import random\n"
        "from edgelink.link import board_link, gateway_link\n"
        "from edgelink.mpack import unpackb, MpackError\n"
        "random.seed(6)\n"
        "key = bytes(range(32)); up = []; down = []\n"
        "b = board_link('b1', key, lambda d: up.append(bytes(d)), log=None)\n"
        "g = gateway_link({b'b1': key}, lambda d: down.append(bytes(d)))\n"
        "b.open()\n"
        "while up or down:\n"
        "    while up: g.feed(up.pop(0))\n"
        "    while down: b.feed(down.pop(0))\n"
        "for i in range(20):\n"
        "    g.send({'t': 'remove', 'actor': 'M%d' % i})\n"
        "frames = list(down); down.clear()\n"
        "def rnd(n): return bytes(random.getrandbits(8) for _ in range(n))\n"
        "codec_errors = 0\n"
        "for i in range(300):\n"
        "    try:\n"
        "        unpackb(rnd(random.getrandbits(5)))\n"
        "    except MpackError:\n"
        "        codec_errors += 1\n"
        "delivered = []\n"
        "for i in range(300):\n"
        "    piece = bytearray(frames[random.getrandbits(8) % len(frames)])\n"
        "    for _ in range(random.getrandbits(2)):\n"
        "        piece[random.getrandbits(8) % len(piece)] = random.getrandbits(8)\n"
        "    if random.getrandbits(1):\n"
        "        piece = piece[:random.getrandbits(8) % (len(piece) + 1)]\n"
        "    delivered += b.feed(bytes(piece) + rnd(random.getrandbits(3)))\n"
        "actors = [int(m['actor'][1:]) for m in delivered if m['t'] == 'remove']\n"
        "print(actors == sorted(set(actors)), codec_errors > 0, b.drops.total() > 0)\n"
    )
    assert out.strip() == "True True True"
