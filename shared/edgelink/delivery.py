"""Reliable delivery of DATA frames: a window of frames kept until acknowledged, sent again if not.

The session numbers the frames and carries acknowledgements (session.py); this keeps the sender's
side: at most `window` frames unacknowledged (the smaller of ours and the peer's), the rest of
what is sent waits in a bounded backlog; when acknowledgements stop for a retransmission timeout
the oldest unacknowledged frame goes again, and if that brings nothing either, every one of them
(go-back-N: the receiver takes frames in order only), the timeout doubling each round and
staying doubled until a frame sent once is acknowledged (Karn); all go again at once when the
peer's NAK says it has a gap; a peer that acknowledges nothing for `dead_ms` is gone. Our own
acknowledgement rides on the next DATA frame, or goes alone after ACK_DELAY_MS (at once after
a frame out of order or twice: as a NAK after a gap).
"""

from edgelink.clock import ticks_diff

ACK_DELAY_MS = 20  # an acknowledgement waits this long for a frame going the other way
INITIAL_RTO_MS = 1000  # before the first round trip has been measured
MIN_RTO_MS = 250
MAX_RTO_MS = 4000
DEAD_MS = 10000
KEEPALIVE_MS = 5000  # heard nothing this long: send something that needs an acknowledgement
DEFAULT_BACKLOG = 32


class BacklogFull(Exception):
    pass


class Delivery:
    """The sending side of one session's DATA frames (see the module docstring)."""

    def __init__(self, write, clock, window, max_backlog=DEFAULT_BACKLOG, dead_ms=DEAD_MS):
        self._write = write
        self._clock = clock
        self.window = window
        self.max_backlog = max_backlog
        self.dead_ms = dead_ms
        self.peer_window = 1
        self.session = None
        self.resent = 0  # frames sent again, over the life of the link
        self.reset()

    def reset(self):
        """A new session (or none): nothing is owed either way."""
        now = self._clock()
        self._unacked = []  # [seq, wire bytes, first sent at, sent again]
        self._backlog = []
        self._ack_since = None  # when data came that we have not acknowledged yet
        self._rto = INITIAL_RTO_MS
        self._srtt = 0
        self._rttvar = 0
        self._probed = False  # the oldest frame went again at the timeout: no answer yet
        # spans are kept as a start and a length: MicroPython's ticks wrap around
        self.progress_at = now  # the peer last acknowledged something (or we began to wait)
        self._retry_from = now
        self._retry_after = self._rto
        self._resent_at = now
        self.heard_at = now

    @property
    def room(self):
        """True when one more frame may go out now."""
        return not self._backlog and len(self._unacked) < min(self.window, self.peer_window)

    @property
    def pending(self):
        """True while anything sent is not yet acknowledged (or not yet on the wire)."""
        return bool(self._unacked or self._backlog)

    @property
    def quiet(self):
        """True when nothing is owed either way: no frame unacknowledged, no ack due."""
        return not (self._unacked or self._backlog or self.session.ack_now
                    or self._ack_since is not None)

    def send(self, body):
        """Send a message body now, or as soon as the window allows."""
        if self.room:
            self._transmit(body, self._clock())
        elif len(self._backlog) >= self.max_backlog:
            raise BacklogFull("%d messages already wait for the peer's window of %d"
                              % (len(self._backlog), min(self.window, self.peer_window)))
        else:
            self._backlog.append(body)

    def _transmit(self, body, now):
        seq, wire = self.session.send(body)
        if not self._unacked:
            self.progress_at = now
            self._retry(now, self._rto)
        self._unacked.append([seq, bytes(wire), now, False])
        self._ack_since = None  # it rode on this frame

    def _retry(self, now, after):
        self._retry_from = now
        self._retry_after = after

    def heard(self, took_data):
        """An authenticated record came in: take what it acknowledged, owe an ack for data."""
        now = self._clock()
        self.heard_at = now
        acked = self.session.peer_ack
        unacked = self._unacked
        moved = False
        while unacked and unacked[0][0] <= acked:
            entry = unacked.pop(0)
            if not entry[3]:  # round trips only of frames sent once (Karn)
                self._sample(ticks_diff(now, entry[2]))
            moved = True
        if moved:
            self._probed = False
            self.progress_at = now
            self._retry(now, self._rto)
        if self.session.nak:
            self.session.nak = False
            # the peer has a gap: send again now rather than at the timeout, but not more
            # than once a round trip (every frame after the gap brings a NAK of its own)
            if unacked and ticks_diff(now, self._resent_at) >= max(self._srtt, ACK_DELAY_MS):
                self._resend_all(now)
        while self._backlog and len(unacked) < min(self.window, self.peer_window):
            self._transmit(self._backlog.pop(0), now)
        if took_data and self._ack_since is None:
            self._ack_since = now

    def flush_ack(self):
        """Acknowledge at once when the peer sent what we had or skipped a frame."""
        if self.session.ack_now:
            self._ack_since = None
            self.session.send_ack()

    def _sample(self, rtt):
        # as TCP does (RFC 6298): the timeout leaves room for how much the round trip varies,
        # which on a serial line is mostly how full the sender's queue is
        if not self._srtt:
            self._srtt = rtt
            self._rttvar = rtt // 2
        else:
            self._rttvar = (3 * self._rttvar + abs(self._srtt - rtt)) // 4
            self._srtt = (7 * self._srtt + rtt) // 8
        self._rto = min(MAX_RTO_MS, max(MIN_RTO_MS,
                                        self._srtt + 4 * self._rttvar + 2 * ACK_DELAY_MS))

    def tick(self):
        """Time-driven work; returns why the peer is taken for gone, or None."""
        now = self._clock()
        since = self._ack_since
        if self.session.ack_now or (since is not None and
                                    ticks_diff(now, since) >= ACK_DELAY_MS):
            self._ack_since = None
            self.session.send_ack()
        if not self._unacked:
            return None
        if ticks_diff(now, self.progress_at) >= self.dead_ms:
            return "no acknowledgement for %d s" % (self.dead_ms // 1000)
        if ticks_diff(now, self._retry_from) >= self._retry_after:
            # the round trip was longer than we thought: wait twice as long from now on,
            # until a frame sent once measures it again (the copies measure nothing)
            self._rto = min(MAX_RTO_MS, 2 * self._rto)
            if self._probed:
                self._resend_all(now)
            else:
                # first the oldest alone: on a slow line the others are most often still in
                # the queue to the wire, and a window of copies would stand there too, ahead
                # of everything sent later; were they lost, the peer NAKs what comes after it
                self._probed = True
                self._resend(self._unacked[0])
            self._retry(now, self._rto)
        return None

    def _resend_all(self, now):
        self._resent_at = now
        for entry in self._unacked:
            self._resend(entry)

    def _resend(self, entry):
        entry[3] = True
        self.resent += 1
        self._write(entry[1])
