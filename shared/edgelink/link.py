"""One end of the link without I/O: bytes in through feed(), bytes out through write().

It frames and authenticates records, decodes and checks messages, answers malformed ones with
an error, answers ping with pong, and moves bodies too large for a frame as chunks. The board's
poll loop and the gateway's asyncio device link are both thin wrappers around it.
"""

import gc

from edgelink import frame, hmac256, messages, session
from edgelink.chunks import DEFAULT_RETRIES, DEFAULT_STALL_MS, Incoming, Outgoing
from edgelink.clock import ticks_diff, ticks_ms
from edgelink.delivery import DEAD_MS, DEFAULT_BACKLOG, KEEPALIVE_MS, BacklogFull, Delivery
from edgelink.mpack import MpackError, packb

# no end may accept less than MIN_FRAME; gateways accept at least GATEWAY_MIN_FRAME, so a
# board can say hello with several actors before it knows its gateway's limit
MIN_FRAME = 256
GATEWAY_MIN_FRAME = 4096
DEFAULT_WINDOW = 4
DEFAULT_MAX_BODY = 64 * 1024
HANDSHAKE_RETRY_MS = 1000
MAX_ERROR_TEXT = 160
DROP_MALFORMED = "malformed message"
DROP_STRAY_CHUNK = "stray chunk"
_CHUNK_HEAD = len(packb({"t": "chunk", "id": messages.MAX_ID, "at": 0xFFFFFFFF, "data": b""})) + 3
_BODY_HEAD = len(packb({"size": 0xFFFFFFFF, "sha256": bytes(32)})) + 5


class LinkError(Exception):
    """The link cannot do what was asked; the message says what and why."""


class LinkTimeout(LinkError):
    """No reply came within the time the caller gave."""


class LinkClosed(LinkError):
    """The line under the link is gone (the transport closed)."""


class BodyRefused(Exception):
    """Raised by a body sink to refuse a body before any chunk of it arrives."""

    def __init__(self, code, text):
        super().__init__(text)
        self.code = code


class LinkOptions:
    """The settings of one end; every field has a default, and factories take them as
    keyword arguments.

    `body_sink(msg)` (optional) is asked for each chunked body announced to this end: it
    returns None for the in-RAM buffer, or an object with write(data), close() and
    discard() that takes the body as it arrives (a module written to flash, say); it may
    raise BodyRefused. A body that goes to a sink is bounded by the sink, not `max_body`.
    """

    def __init__(self, max_frame=frame.DEFAULT_MAX_FRAME, window=DEFAULT_WINDOW,
                 max_body=DEFAULT_MAX_BODY, max_transfers=1, log=None, clock=ticks_ms,
                 random=None, stall_ms=DEFAULT_STALL_MS, retries=DEFAULT_RETRIES,
                 body_sink=None, collect=False, max_queued=None, max_backlog=DEFAULT_BACKLOG,
                 dead_ms=DEAD_MS, keepalive_ms=KEEPALIVE_MS, cobs=None, msgpack=None):
        self.max_frame = max_frame
        self.window = window
        self.max_body = max_body
        self.max_transfers = max_transfers
        # bodies announced while max_transfers are coming in wait their turn, this many
        self.max_queued = window if max_queued is None else max_queued
        self.log = log
        self.clock = clock
        self.random = random
        self.stall_ms = stall_ms
        self.retries = retries
        self.body_sink = body_sink
        self.collect = collect  # gc.collect() before a large buffer (on a board)
        self.max_backlog = max_backlog  # messages waiting for the peer's window
        self.dead_ms = dead_ms  # nothing acknowledged this long: the peer is gone
        self.keepalive_ms = keepalive_ms  # heard nothing this long: make the peer answer
        # (encode, decode) shaped as frame.cobs_encode/cobs_decode; None: frame's own
        self.cobs = cobs
        # (packb(obj), unpackb(data)) shaped as mpack's, raising MpackError; None: mpack
        self.msgpack = msgpack


class Link:
    """The protocol state of one end; BoardLink and GatewayLink make its session."""

    def __init__(self, write, options, first_id, initial_peer_frame):
        max_frame = options.max_frame
        if max_frame < MIN_FRAME:
            raise LinkError("max_frame %d is below the protocol minimum %d"
                            % (max_frame, MIN_FRAME))
        self._write = write
        self.drops = frame.Drops(options.log)
        encode, decode = options.cobs or (frame.cobs_encode, frame.cobs_decode)
        self.reader = frame.FrameReader(max_frame, self.drops, decode)
        self.writer = frame.FrameWriter(max_frame, encode)
        self._msgpack = options.msgpack
        self.max_frame = max_frame
        self.window = options.window
        self.max_body = options.max_body
        self.max_transfers = options.max_transfers
        self.max_queued = options.max_queued
        self.collect = options.collect
        self.body_sink = options.body_sink
        self._initial_peer_frame = initial_peer_frame
        self.peer_max_frame = initial_peer_frame
        self.peer_window = 1
        self.session = None
        self.on_open = None
        self.on_dead = None  # on_dead(reason) when the peer stops acknowledging; else LinkError
        self._clock = options.clock
        self._keepalive_ms = options.keepalive_ms
        self.delivery = Delivery(self._write, options.clock, options.window,
                                 options.max_backlog, options.dead_ms)
        self._stall_ms = options.stall_ms
        self._retries = options.retries
        self._next_id = first_id
        self._outgoing = {}
        self._incoming = {}
        self._queued = []  # announcements of bodies waiting for a free transfer
        self._inbox = []
        self.records = 0  # valid frames received: proof that the peer speaks the link

    # --- wiring for the session

    def _send_record(self, a, b=b"", c=b""):
        wire = self.writer.encode(a, b, c)
        self._write(wire)
        return wire

    def _start_session(self, link_session):
        self.session = link_session
        link_session.on_open = self._session_opened
        self.delivery.session = link_session

    def _session_opened(self):
        # every transfer ends with the old session; the owner knows what to send again
        self.peer_max_frame = self._initial_peer_frame
        self.peer_window = 1
        self.delivery.reset()
        self.delivery.peer_window = 1
        self._outgoing = {}
        self._drop_incoming()
        if self.on_open is not None:
            self.on_open()

    # --- sending

    def new_id(self):
        """A request id of this end (boards use odd ids, gateways even ones)."""
        request_id = self._next_id
        self._next_id = request_id + 2 if request_id + 2 <= messages.MAX_ID else request_id % 2 + 1
        return request_id

    @property
    def body_limit(self):
        """Largest message body that fits in one frame the peer accepts."""
        return (min(self.max_frame, self.peer_max_frame) - frame.OVERHEAD
                - session.DATA_OVERHEAD)

    @property
    def busy(self):
        """True while bodies are still going out in chunks, or frames are unacknowledged."""
        return bool(self._outgoing) or self.delivery.pending

    @property
    def quiet(self):
        """True when tick() has nothing to do but the keepalive, seconds away: the session
        is open and no frame, acknowledgement or body is on its way either way."""
        return (self.session.is_open and not self._outgoing and not self._incoming
                and not self._queued and self.delivery.quiet)

    def send(self, msg, body=None):
        """Send msg with an optional body; return its request id.

        msg gets an id when it has none (and `size` and `sha256` when the body goes in chunks,
        which feed() and tick() keep pumping). Raises LinkError when it cannot be sent.
        """
        if "id" not in msg:
            msg["id"] = self.new_id()
        if body is None:
            self._send_message(msg)
            return msg["id"]
        if len(body) + _BODY_HEAD <= self.body_limit:
            msg["body"] = body
            packed = self._pack(msg)
            del msg["body"]
            # the other fields count too: an install with its claims token may not fit
            if len(packed) <= self.body_limit:
                self._send_packed(packed)
                return msg["id"]
        if msg["id"] in self._outgoing:
            raise LinkError("a body for request %d is already on its way" % msg["id"])
        msg["size"] = len(body)
        if "sha256" not in msg:
            msg["sha256"] = hmac256.sha256(body).digest()
        self._send_message(msg)
        chunk_size = self.body_limit - _CHUNK_HEAD
        self._outgoing[msg["id"]] = Outgoing(msg["id"], body, chunk_size, self.peer_window,
                                             self._clock(), self._stall_ms, self._retries, msg)
        self._pump()
        return msg["id"]

    def cancel(self, request_id, reason):
        """Give up the body of request_id on its way out, and tell the peer to let it go."""
        if self._outgoing.pop(request_id, None) is not None:
            self._abandon(request_id, reason)

    def _pack(self, msg):
        try:
            codec = self._msgpack
            return packb(msg, bytearray()) if codec is None else codec[0](msg)
        except MpackError as exc:
            raise LinkError("cannot encode %s message: %s" % (msg.get("t"), exc))

    def _send_message(self, msg):
        body = self._pack(msg)
        if len(body) > self.body_limit:
            raise LinkError("%s message of %d bytes exceeds the frame limit of %d"
                            % (msg.get("t"), len(body), self.body_limit))
        self._send_packed(body)

    def _send_packed(self, body):
        try:
            self.delivery.send(body)
        except (session.SessionError, BacklogFull) as exc:
            raise LinkError(str(exc))

    def _pump(self):
        # chunks only while the window has room: other messages do not queue behind a body
        delivery = self.delivery
        for transfer in list(self._outgoing.values()):
            while delivery.room:
                piece = transfer.next_chunk()
                if piece is None:
                    break
                self._send_message({"t": "chunk", "id": transfer.id, "at": piece[0],
                                    "data": piece[1]})

    # --- receiving

    def feed(self, data, n=-1):
        """Take the bytes data[:n] from the wire; return the messages they completed."""
        link_session = self.session
        for record in self.reader.feed(data, n):
            self.records += 1
            heard = link_session.heard
            body = link_session.receive(record)
            if link_session.heard != heard:
                self.delivery.heard(body is not None)
            if body is not None:
                self._on_body(body)
        if link_session.is_open:
            self.delivery.flush_ack()
            if self._outgoing:
                self._pump()
        return self._take_inbox()

    def tick(self):
        """Time-driven work: handshake retries, stalled transfers. Returns messages to deliver."""
        now = self._clock()
        heard_at = self.delivery.progress_at
        for transfer in list(self._outgoing.values()):
            transfer.heard(heard_at)
            stalls = transfer.stalls
            if transfer.stalled(now):
                del self._outgoing[transfer.id]
                self._abandon(transfer.id, "no acknowledgement from the peer")
                self._inbox.append(messages.error(transfer.id, messages.ABORTED,
                                                  "transfer of request %d stalled" % transfer.id))
            elif transfer.stalls != stalls and not transfer.acked and self.session.is_open:
                # not one chunk acknowledged: the announcement itself may have been lost
                self._send_message(transfer.head)
        for transfer in list(self._incoming.values()):
            if transfer.stalled(now):
                self._end_incoming(transfer)
                self._abandon(transfer.id, "no chunk from the peer")
        if self.session.is_open:
            self._tick_delivery(now)
        if self._outgoing and self.session.is_open:
            self._pump()
        self._tick_session(now)
        return self._take_inbox()

    def _tick_delivery(self, now):
        delivery = self.delivery
        gone = delivery.tick()
        if gone is not None:
            self._peer_gone(gone)
        elif not delivery.pending and ticks_diff(now, delivery.heard_at) >= self._keepalive_ms:
            # a quiet line: a ping (id 0, answered by the acknowledgement alone) shows
            # whether the peer is still there
            self._send_message({"t": "ping", "id": 0})

    def _peer_gone(self, reason):
        self.session.close()
        self.delivery.reset()
        self._outgoing = {}
        self._drop_incoming()
        if self.on_dead is None:
            raise LinkError("the peer is gone: " + reason)
        self.on_dead(reason)

    def _tick_session(self, now):
        pass

    def _abandon(self, request_id, reason):
        if self.session.is_open:
            self._send_message({"t": "abort", "id": request_id, "reason": reason})

    def _take_inbox(self):
        inbox = self._inbox
        self._inbox = []
        return inbox

    def _reply_error(self, request_id, code, text):
        if self.session.is_open:
            # short enough for the smallest frame, whatever the offending input was
            self._send_message(messages.error(request_id, code, text[:MAX_ERROR_TEXT]))

    def _on_body(self, body):
        try:
            msg = messages.decode(body, self._msgpack)
        except messages.MessageError as exc:
            self.drops.add(DROP_MALFORMED, str(exc))
            self._reply_error(exc.request_id, exc.code, str(exc))
            return
        t = msg["t"]
        if t == "chunk":
            self._on_chunk(msg)
        elif t == "chunk_ack":
            self._on_chunk_ack(msg)
        elif t == "abort":
            self._on_abort(msg)
        elif messages.carries_body(t) and "body" not in msg:
            self._start_incoming(msg)
        else:
            if t == "ping":
                if msg["id"] == 0:
                    return  # a keepalive: its acknowledgement was the answer
                self._send_message({"t": "pong", "id": msg["id"]})
            elif t == "hello" or t == "ready":
                self._set_peer(msg)
            elif t == "error" and msg["id"] in self._outgoing:
                # the peer refused the request whose body is on its way: send no more of it
                del self._outgoing[msg["id"]]
            if "sha256" in msg and "body" in msg and \
                    hmac256.sha256(msg["body"]).digest() != msg["sha256"]:
                self._reply_error(msg["id"], messages.DIGEST,
                                  "%s %d: body does not match its sha256" % (t, msg["id"]))
                return
            self._inbox.append(msg)

    def _set_peer(self, msg):
        self.peer_max_frame = max(MIN_FRAME, msg["max_frame"])
        self.peer_window = max(1, msg["window"])
        self.delivery.peer_window = self.peer_window
        if self._outgoing:
            self._pump()

    def close(self):
        """The line is gone: bodies half received are let go (a sink's file removed)."""
        self._drop_incoming()
        self._outgoing = {}
        self.delivery.reset()

    def _drop_incoming(self):
        for transfer in self._incoming.values():
            if transfer is not None:
                transfer.discard()
        self._incoming = {}
        self._queued = []

    def _on_chunk_ack(self, msg):
        transfer = self._outgoing.get(msg["id"])
        if transfer is None:
            return
        if msg.get("wait"):
            transfer.wait()
        elif transfer.waiting and msg["at"] == transfer.acked:
            transfer.go(self._clock())
            self._pump()
        else:
            transfer.ack(msg["at"], self._clock())
            if transfer.done:
                del self._outgoing[msg["id"]]

    def _start_incoming(self, msg):
        request_id = msg["id"]
        for queued in self._queued:
            if queued["id"] == request_id:
                return  # announced again while it waits: it keeps its place
        if request_id not in self._incoming and len(self._incoming) >= self.max_transfers:
            if len(self._queued) < self.max_queued:
                # it waits its turn; the sender holds its chunks until told to go
                self._queued.append(msg)
                self._send_message({"t": "chunk_ack", "id": request_id, "at": 0, "wait": True})
                return
            self._reply_error(request_id, messages.BUSY,
                              "%s %d: already receiving %d bodies and %d waiting"
                              % (msg["t"], request_id, len(self._incoming), len(self._queued)))
            return
        old = self._incoming.pop(request_id, None)
        if old is not None:
            old.discard()
        self._begin_incoming(msg)

    def _begin_incoming(self, msg):
        """Take a body: True once its transfer has begun, False when it was refused."""
        request_id = msg["id"]
        size = msg["size"]
        sink = None
        if self.body_sink is not None:
            try:
                sink = self.body_sink(msg)
            except BodyRefused as exc:
                self._reply_error(request_id, exc.code, str(exc))
                return False
        if sink is None and size > self.max_body:
            self._reply_error(request_id, messages.TOO_LARGE,
                              "%s %d: body of %d bytes exceeds max_body %d"
                              % (msg["t"], request_id, size, self.max_body))
            return False
        if sink is None and self.collect:
            gc.collect()  # one large buffer: ask for it on a tidy heap
        transfer = Incoming(request_id, msg, size, msg["sha256"], self._clock(),
                            self._stall_ms * (self._retries + 1), sink)
        self._incoming[request_id] = transfer
        if size == 0:
            self._finish_incoming(transfer)
        return True

    def _end_incoming(self, transfer, keep=False):
        """A transfer is over (done, refused or given up): the next waiting body begins."""
        del self._incoming[transfer.id]
        if not keep:
            transfer.discard()
        while self._queued and len(self._incoming) < self.max_transfers:
            msg = self._queued.pop(0)
            if self._begin_incoming(msg) and msg["id"] in self._incoming:
                self._send_message({"t": "chunk_ack", "id": msg["id"], "at": 0})

    def _on_chunk(self, msg):
        transfer = self._incoming.get(msg["id"])
        if transfer is None:
            for queued in self._queued:
                if queued["id"] == msg["id"]:
                    return  # sent before the sender heard that the body must wait
            self.drops.add(DROP_STRAY_CHUNK, "no body announced for request %d" % msg["id"])
            return
        try:
            at = transfer.add(msg["at"], msg["data"], self._clock())
        except OSError as exc:  # the sink could not take it: give the transfer up
            self._end_incoming(transfer)
            self._abandon(transfer.id, "cannot store the body")
            self._reply_error(transfer.id, messages.STORE, "%s %d: cannot store the body: %s"
                              % (transfer.message["t"], transfer.id, exc))
            return
        self._send_message({"t": "chunk_ack", "id": transfer.id, "at": at})
        if transfer.complete:
            self._finish_incoming(transfer)

    def _finish_incoming(self, transfer):
        msg = transfer.message
        if not transfer.digest_ok():
            self._end_incoming(transfer)
            self._reply_error(transfer.id, messages.DIGEST,
                              "%s %d: body of %d bytes does not match its sha256"
                              % (msg["t"], transfer.id, transfer.size))
            return
        msg["body"] = transfer.body()
        del msg["size"]
        self._end_incoming(transfer, keep=True)
        self._inbox.append(msg)

    def _on_abort(self, msg):
        request_id = msg["id"]
        transfer = self._incoming.get(request_id)
        if transfer is not None:
            self._end_incoming(transfer)
            return
        for queued in self._queued:
            if queued["id"] == request_id:
                self._queued.remove(queued)
                return
        if self._outgoing.pop(request_id, None) is not None:
            self._inbox.append(messages.error(request_id, messages.ABORTED,
                                              "peer aborted: %s" % msg["reason"]))


class BoardLink(Link):
    """The board's end: call open(), then poll() from the board's loop."""

    def __init__(self, board_id, pairing_key, write, options):
        if options.max_frame > GATEWAY_MIN_FRAME:
            raise LinkError("a board's max_frame %d is above %d, the most every gateway "
                            "accepts" % (options.max_frame, GATEWAY_MIN_FRAME))
        super().__init__(write, options, 1, GATEWAY_MIN_FRAME)
        self._start_session(session.BoardSession(board_id, pairing_key, self._send_record,
                                                 self.drops, options.random))
        self._opened_at = self._clock()

    def _tick_session(self, now):
        # no challenge came back: ask again with a fresh nonce
        if self.session.is_opening and ticks_diff(now, self._opened_at) >= HANDSHAKE_RETRY_MS:
            self.open()

    def open(self):
        """Open a new session (at start and on every reconnect)."""
        self._opened_at = self._clock()
        self.session.open()

    def poll(self, port, max_reads=8):
        """One turn of the board's loop: read what the port has, return the messages."""
        inbox = []
        for _ in range(max_reads):
            n = port.readinto(port.buffer)
            if not n:
                break
            inbox.extend(self.feed(port.buffer, n))
        inbox.extend(self.tick())
        return inbox


class GatewayLink(Link):
    """The gateway's end for one board connection; pairing_keys maps board id to key."""

    def __init__(self, pairing_keys, write, options):
        if options.max_frame < GATEWAY_MIN_FRAME:
            raise LinkError("a gateway's max_frame %d is below the protocol's %d"
                            % (options.max_frame, GATEWAY_MIN_FRAME))
        super().__init__(write, options, 2, MIN_FRAME)
        self._start_session(session.GatewaySession(pairing_keys, self._send_record,
                                                   self.drops, options.random))


def board_link(board_id, pairing_key, write, **options):
    """The board's end; options as LinkOptions takes them (max_frame, window, ...)."""
    options.setdefault("collect", True)
    options.setdefault("log", print)
    return BoardLink(board_id, pairing_key, write, LinkOptions(**options))


def gateway_link(pairing_keys, write, **options):
    """The gateway's end; options as LinkOptions takes them, with a gateway's defaults."""
    options.setdefault("max_frame", 16384)
    options.setdefault("window", 8)
    options.setdefault("max_body", 4 * 1024 * 1024)
    options.setdefault("max_transfers", 8)
    return GatewayLink(pairing_keys, write, LinkOptions(**options))
