"""The authenticated session: mutual challenge-response, per-frame MAC, sequence numbers, acks.

DATA frames are numbered without gaps in each direction and carry the receiver's cumulative
acknowledgement; only the low 16 bits of each go on the wire, the MAC covers all 32 (see
PROTOCOL.md). The session accepts DATA in order only; what to send again and when is the
link's (link.py).
"""

from edgelink import frame, pairing
from edgelink.hmac256 import HmacKey, same

OPEN = 0x01       # board -> gateway: board id, board nonce
CHALLENGE = 0x02  # gateway -> board: gateway nonce, gateway proof
PROOF = 0x03      # board -> gateway: board proof
ASK = 0x04        # gateway -> board: please open a session
BUSY = 0x05       # board -> a second connection: board id; it serves another one, bye
DATA = 0x10       # either way: seq, ack, body, truncated MAC
ACK = 0x11        # either way: ack, truncated MAC
NAK = 0x12        # either way: ack, truncated MAC; sent because a frame was missing or repeated

NONCE = 16
PROOF_SIZE = 32
MAC = 12
SEQ_LIMIT = 0xFFFFFFFF
DATA_OVERHEAD = 1 + 2 + 2 + MAC
ACK_SIZE = 1 + 2 + MAC
MAX_BOARD_ID = pairing.MAX_BOARD_ID

_TAG_GATEWAY = b"edgelink gateway proof"
_TAG_BOARD = b"edgelink board proof"
_TAG_UP = b"edgelink board to gateway"
_TAG_DOWN = b"edgelink gateway to board"


# why a record was dropped (frame.Drops counts them by these names)
DROP_NO_SESSION = "no session"
DROP_BAD_MAC = "bad MAC"
DROP_REPLAY = "replay"  # an old sequence number: a retransmission we have, or a replay
DROP_GAP = "out of order"  # a frame after a missing one: sent again once the gap is filled
DROP_UNEXPECTED = "unexpected"
DROP_HANDSHAKE = "handshake"
DROP_UNKNOWN_BOARD = "unknown board"

# the drop detail a board sees when its gateway holds another pairing key (once per OPEN)
GATEWAY_PROOF_MISMATCH = "gateway proof does not match the pairing key"
STALE_CHALLENGE = "challenge for an earlier open request"
REPEATED_MISMATCH = "another challenge that does not match the pairing key"
EARLIER_NONCES = 3  # OPENs a board still recognises challenges for (and ignores them)


class SessionError(Exception):
    pass


def _random_nonce():
    import os
    return os.urandom(NONCE)


def widen(low, near):
    """The 32-bit number ending in the 16 bits `low` that is nearest to `near` (-1 if none)."""
    value = (near & ~0xFFFF) | low
    if value - near > 0x8000:
        value -= 0x10000
    elif near - value > 0x8000:
        value += 0x10000
    return value if 0 <= value <= SEQ_LIMIT else -1


def _put32(buf, at, value):
    buf[at] = value >> 24
    buf[at + 1] = (value >> 16) & 0xFF
    buf[at + 2] = (value >> 8) & 0xFF
    buf[at + 3] = value & 0xFF


class Session:
    """What both ends share: the open session's keys, sequence numbers and drop counts.

    `send(a, b, c)` frames and writes one record made of the three parts and returns the
    wire bytes. Records come in through `receive(record)`, which returns the body of the next
    DATA record in order and None for anything else (handshake records are answered through
    `send`). `peer_ack` is the last of our sequence numbers the peer has acknowledged,
    `received` the last of its we took; `ack_now` is set when the peer should hear our
    acknowledgement at once (it sent something we already had, or skipped one), `gap` when
    that acknowledgement is a NAK (it skipped one: what follows the gap must go again).
    """

    def __init__(self, send, drops, random=None):
        self._send = send
        self.drops = drops
        self._random = random or _random_nonce
        self.on_open = None
        self.board_id = None
        self.is_open = False
        self.opened = 0
        self._send_key = None
        self._recv_key = None
        self._next_seq = 1
        self.received = 0
        self.peer_ack = 0
        self.ack_now = False
        self.gap = False
        self.heard = 0  # authenticated DATA and ACK records, counted
        self.nak = False  # the last acknowledgement says a frame of ours went missing
        self._header = bytearray(5)  # kind, seq and ack as they go on the wire
        self._signed = bytearray(9)  # kind, seq and ack as the MAC covers them

    def _start(self, board_id, pairing, nonce_b, nonce_g, sending_up):
        up = HmacKey(pairing.digest(_TAG_UP, nonce_b, nonce_g))
        down = HmacKey(pairing.digest(_TAG_DOWN, nonce_b, nonce_g))
        self._send_key, self._recv_key = (up, down) if sending_up else (down, up)
        self.board_id = board_id
        self._next_seq = 1
        self.received = 0
        self.peer_ack = 0
        self.ack_now = False
        self.gap = False
        self.is_open = True
        self.opened += 1
        if self.on_open is not None:
            self.on_open()

    def close(self):
        self.is_open = False
        self._send_key = self._recv_key = None

    @property
    def last_sent(self):
        return self._next_seq - 1

    def send(self, body):
        """Send one body in a DATA record of the open session: (its seq, the wire bytes)."""
        if not self.is_open:
            raise SessionError("cannot send: no open session")
        seq = self._next_seq
        if seq >= SEQ_LIMIT:
            self.close()
            raise SessionError("sequence numbers exhausted: open a new session")
        self._next_seq = seq + 1
        self.ack_now = self.gap = False  # this frame carries our acknowledgement
        mac = self._sign(DATA, seq, body)
        return seq, self._send(self._header, body, memoryview(mac)[:MAC])

    def send_ack(self):
        """Acknowledge what we have received, in a record of its own: a NAK when the peer
        skipped a frame (so that it sends again at once), else an ACK. A copy of a frame we
        had is answered with an ACK only: the sender's copies already on their way fill no
        gap, and a NAK for each would have it send them all again, round after round."""
        if not self.is_open:
            return
        kind = NAK if self.gap else ACK
        self.ack_now = self.gap = False
        mac = self._sign(kind, 0, b"")
        header = self._header
        header[1] = header[3]
        header[2] = header[4]
        self._send(memoryview(header)[:3], memoryview(mac)[:MAC])

    def _sign(self, kind, seq, body):
        ack = self.received
        signed = self._signed
        signed[0] = kind
        _put32(signed, 1, seq)
        _put32(signed, 5, ack)
        header = self._header
        header[0] = kind
        header[1] = (seq >> 8) & 0xFF
        header[2] = seq & 0xFF
        header[3] = (ack >> 8) & 0xFF
        header[4] = ack & 0xFF
        if kind != DATA:
            return self._send_key.digest(memoryview(signed)[:1], memoryview(signed)[5:])
        return self._send_key.digest(signed, body)

    def receive(self, record):
        if len(record) == 0:
            self.drops.add(frame.DROP_SHORT, "empty record")
            return None
        kind = record[0]
        if kind == DATA:
            return self._data(record)
        if kind == ACK or kind == NAK:
            self._ack(record)
            return None
        self._handshake(kind, record)
        return None

    def _peer_ack(self, record, at):
        # the peer acknowledges one of ours: at most the last we sent, never far behind it
        return widen((record[at] << 8) | record[at + 1], self._next_seq - 1)

    def _ack(self, record):
        if not self.is_open:
            self.drops.add(DROP_NO_SESSION, "acknowledgement before the handshake")
            return
        if len(record) != ACK_SIZE:
            self.drops.add(frame.DROP_SHORT, "acknowledgement of %d bytes" % len(record))
            return
        ack = self._peer_ack(record, 1)
        signed = self._signed
        signed[0] = record[0]
        if ack < 0:
            self.drops.add(DROP_BAD_MAC, "acknowledgement out of range")
            return
        _put32(signed, 1, ack)
        mac = self._recv_key.digest(memoryview(signed)[:5])
        if not same(memoryview(mac)[:MAC], record[3:]):
            self.drops.add(DROP_BAD_MAC, "acknowledgement")
            return
        self.heard += 1
        self.nak = record[0] == NAK
        self._took_ack(ack)

    def _took_ack(self, ack):
        if ack > self.peer_ack:
            self.peer_ack = ack

    def _data(self, record):
        if not self.is_open:
            self.drops.add(DROP_NO_SESSION, "data before the handshake")
            return None
        if len(record) < DATA_OVERHEAD:
            self.drops.add(frame.DROP_SHORT, "data record of %d bytes" % len(record))
            return None
        expected = self.received + 1
        seq = widen((record[1] << 8) | record[2], expected)
        ack = self._peer_ack(record, 3)
        if seq < 0 or ack < 0:
            self.drops.add(DROP_BAD_MAC, "sequence number out of range")
            return None
        end = len(record) - MAC
        signed = self._signed
        signed[0] = DATA
        _put32(signed, 1, seq)
        _put32(signed, 5, ack)
        mac = self._recv_key.digest(signed, memoryview(record)[5:end])
        if not same(memoryview(mac)[:MAC], record[end:]):
            self.drops.add(DROP_BAD_MAC)
            return None
        self.heard += 1
        self._took_ack(ack)
        if seq != expected:
            self.ack_now = True  # tell the sender where we are: it sends again from there
            if seq < expected:
                self.drops.add(DROP_REPLAY, "sequence %d after %d" % (seq, self.received))
            else:
                self.gap = True
                self.drops.add(DROP_GAP, "sequence %d, expected %d" % (seq, expected))
            return None
        self.received = seq
        return record[5:end]

    def _handshake(self, kind, record):
        self.drops.add(DROP_UNEXPECTED, "record kind 0x%02x" % kind)


class BoardSession(Session):
    """The board's end: it opens sessions and proves it holds the pairing key."""

    def __init__(self, board_id, pairing_key, send, drops, random=None):
        super().__init__(send, drops, random)
        try:
            board_id = pairing.board_id_bytes(board_id)
            pairing_key = pairing.pairing_key(pairing_key)
        except pairing.PairingError as exc:
            raise SessionError(str(exc))
        self.board_id = board_id
        self._pairing = HmacKey(pairing_key)
        self._nonce = None
        self._open_record = None
        self._earlier = []  # nonces of the last OPENs, whose challenges are stale now
        self._mismatched = False  # the current OPEN has had its one mismatch reported
        self.challenges = 0  # well-formed challenges received

    def open(self):
        """Start a new session (fresh nonce); the old one, if any, ends now."""
        self.close()
        if self._nonce is not None:
            self._earlier.append(self._nonce)
            if len(self._earlier) > EARLIER_NONCES:
                self._earlier.pop(0)
        self._mismatched = False
        self._nonce = self._random()
        self._open_record = bytes([OPEN, len(self.board_id)]) + self.board_id + self._nonce
        self._send(self._open_record)

    @property
    def is_opening(self):
        return self._nonce is not None

    def busy_record(self):
        """What a connection that comes while this one is served is told before it is
        closed. Not authenticated, as ASK is not: it costs a forger no more than a reset."""
        return bytes([BUSY, len(self.board_id)]) + self.board_id

    def _handshake(self, kind, record):
        if kind == ASK:
            # always a fresh nonce: the gateway may already have answered the pending OPEN,
            # and two challenges for one nonce leave the ends unable to tell which is current
            self.open()
            return
        if kind != CHALLENGE:
            self.drops.add(DROP_UNEXPECTED, "record kind 0x%02x on the board" % kind)
            return
        if self._nonce is None or len(record) != 1 + NONCE + PROOF_SIZE:
            self.drops.add(DROP_HANDSHAKE, "challenge without an open request")
            return
        self.challenges += 1
        nonce_g = bytes(record[1:1 + NONCE])
        if not self._proves(self._nonce, nonce_g, record):
            self._mismatch(nonce_g, record)
            return
        nonce_b = self._nonce
        self._nonce = None
        self._earlier = []
        self._send(bytes([PROOF]), self._pairing.digest(_TAG_BOARD + self.board_id,
                                                        nonce_b, nonce_g))
        self._start(self.board_id, self._pairing, nonce_b, nonce_g, True)


    def _proves(self, nonce_b, nonce_g, record):
        expected = self._pairing.digest(_TAG_GATEWAY + self.board_id, nonce_b, nonce_g)
        return same(expected, record[1 + NONCE:])

    def _mismatch(self, nonce_g, record):
        # A challenge crossing our newer OPEN on the wire (the gateway's ASK retries do that)
        # proves the key for an earlier nonce: stale, not a wrong key. Of the rest, only the
        # first per OPEN counts as a mismatch, so a burst of junk counts once.
        for nonce_b in self._earlier:
            if self._proves(nonce_b, nonce_g, record):
                self.drops.add(DROP_HANDSHAKE, STALE_CHALLENGE)
                return
        if self._mismatched:
            self.drops.add(DROP_HANDSHAKE, REPEATED_MISMATCH)
            return
        self._mismatched = True
        self.drops.add(DROP_HANDSHAKE, GATEWAY_PROOF_MISMATCH)


class GatewaySession(Session):
    """The gateway's end: it answers open requests from boards whose pairing key it knows.

    `pairing_keys` maps a board id (bytes) to its 32-byte pairing key.
    """

    def __init__(self, pairing_keys, send, drops, random=None):
        super().__init__(send, drops, random)
        self._keys = pairing_keys
        self._pending = None
        self.unanswered = 0  # challenges sent since the last good proof
        self.turned_away = False  # the board said it serves another connection

    def ask(self):
        """Ask the board to open a session (after the gateway restarted, say)."""
        self._send(bytes([ASK]))

    def _handshake(self, kind, record):
        if kind == OPEN:
            self._on_open_request(record)
        elif kind == PROOF:
            self._on_proof(record)
        elif kind == BUSY:
            self.turned_away = True
        else:
            self.drops.add(DROP_UNEXPECTED, "record kind 0x%02x on the gateway" % kind)

    def _on_open_request(self, record):
        size = record[1] if len(record) > 1 else 0
        if size == 0 or size > MAX_BOARD_ID or len(record) != 2 + size + NONCE:
            self.drops.add(DROP_HANDSHAKE, "malformed open request")
            return
        board_id = bytes(record[2:2 + size])
        key = self._keys.get(board_id)
        if key is None:
            self.drops.add(DROP_UNKNOWN_BOARD, repr(board_id))
            return
        pairing = HmacKey(key)
        nonce_b = bytes(record[2 + size:])
        nonce_g = self._random()
        # the open session, if any, stays until the board proves itself
        self._pending = (board_id, pairing, nonce_b, nonce_g)
        self.unanswered += 1
        self._send(bytes([CHALLENGE]) + nonce_g,
                   pairing.digest(_TAG_GATEWAY + board_id, nonce_b, nonce_g))

    def _on_proof(self, record):
        pending = self._pending
        if pending is None or len(record) != 1 + PROOF_SIZE:
            self.drops.add(DROP_HANDSHAKE, "proof without a challenge")
            return
        board_id, pairing, nonce_b, nonce_g = pending
        if not same(pairing.digest(_TAG_BOARD + board_id, nonce_b, nonce_g), record[1:]):
            self.drops.add(DROP_HANDSHAKE, "board proof does not match the pairing key")
            return
        self._pending = None
        self.unanswered = 0
        self._start(board_id, pairing, nonce_b, nonce_g, False)
