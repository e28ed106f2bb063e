"""One end of the link without I/O: bytes in through feed(), bytes out through write().

It frames and authenticates records, decodes and checks messages, answers malformed ones with
an error, answers ping with pong, and moves bodies too large for a frame as chunks. The board's
poll loop and the gateway's asyncio device link are both thin wrappers around it.
"""

import gc
import hashlib

from edgelink import frame, messages, session
from edgelink.chunks import DEFAULT_RETRIES, DEFAULT_STALL_MS, Incoming, Outgoing
from edgelink.clock import ticks_diff, ticks_ms
from edgelink.mpack import MpackError, packb

# no end may accept less than MIN_FRAME; gateways accept at least GATEWAY_MIN_FRAME, so a
# board can say hello with several actors before it knows its gateway's limit
MIN_FRAME = 256
GATEWAY_MIN_FRAME = 4096
DEFAULT_WINDOW = 4
DEFAULT_MAX_BODY = 64 * 1024
HANDSHAKE_RETRY_MS = 1000
MAX_ERROR_TEXT = 160
_CHUNK_HEAD = len(packb({"t": "chunk", "id": messages.MAX_ID, "at": 0xFFFFFFFF, "data": b""})) + 3
_BODY_HEAD = len(packb({"size": 0xFFFFFFFF, "sha256": bytes(32)})) + 5


class LinkError(Exception):
    pass


class Link:
    """The protocol state of one end. Build it with board_link() or gateway_link()."""

    def __init__(self, write, max_frame, window, max_body, max_transfers, first_id, log,
                 clock, stall_ms, retries, initial_peer_frame):
        if max_frame < MIN_FRAME:
            raise LinkError("max_frame %d is below the protocol minimum %d"
                            % (max_frame, MIN_FRAME))
        self._write = write
        self.drops = frame.Drops(log)
        self.reader = frame.FrameReader(max_frame, self.drops)
        self.writer = frame.FrameWriter(max_frame)
        self.max_frame = max_frame
        self.window = window
        self.max_body = max_body
        self.max_transfers = max_transfers
        self.collect = False
        self._initial_peer_frame = initial_peer_frame
        self.peer_max_frame = initial_peer_frame
        self.peer_window = 1
        self.session = None
        self.on_open = None
        self._clock = clock
        self._stall_ms = stall_ms
        self._retries = retries
        self._next_id = first_id
        self._outgoing = {}
        self._incoming = {}
        self._inbox = []

    # --- wiring for the session

    def _send_record(self, a, b=b"", c=b""):
        self._write(self.writer.encode(a, b, c))

    def _session_opened(self):
        self.peer_max_frame = self._initial_peer_frame
        self.peer_window = 1
        for transfer in self._outgoing.values():
            self._inbox.append(messages.error(transfer.id, messages.ABORTED,
                                              "session reopened during the transfer"))
        self._outgoing = {}
        self._incoming = {}
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
        """True while bodies are still going out in chunks."""
        return bool(self._outgoing)

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
            msg["sha256"] = hashlib.sha256(body).digest()
        self._send_message(msg)
        chunk_size = self.body_limit - _CHUNK_HEAD
        self._outgoing[msg["id"]] = Outgoing(msg["id"], body, chunk_size, self.peer_window,
                                             self._clock(), self._stall_ms, self._retries)
        self._pump()
        return msg["id"]

    def _pack(self, msg):
        try:
            return packb(msg, bytearray())
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
            self.session.send(body)
        except session.SessionError as exc:
            raise LinkError(str(exc))

    def _pump(self):
        for transfer in list(self._outgoing.values()):
            piece = transfer.next_chunk()
            while piece is not None:
                self._send_message({"t": "chunk", "id": transfer.id, "at": piece[0],
                                    "data": piece[1]})
                piece = transfer.next_chunk()

    # --- receiving

    def feed(self, data, n=-1):
        """Take the bytes data[:n] from the wire; return the messages they completed."""
        for record in self.reader.feed(data, n):
            body = self.session.receive(record)
            if body is not None:
                self._on_body(body)
        if self._outgoing and self.session.is_open:
            self._pump()
        return self._take_inbox()

    def tick(self):
        """Time-driven work: handshake retries, stalled transfers. Returns messages to deliver."""
        now = self._clock()
        for transfer in list(self._outgoing.values()):
            if transfer.stalled(now):
                del self._outgoing[transfer.id]
                self._abandon(transfer.id, "no acknowledgement from the peer")
                self._inbox.append(messages.error(transfer.id, messages.ABORTED,
                                                  "transfer of request %d stalled" % transfer.id))
        for transfer in list(self._incoming.values()):
            if transfer.stalled(now):
                del self._incoming[transfer.id]
                self._abandon(transfer.id, "no chunk from the peer")
        if self._outgoing and self.session.is_open:
            self._pump()
        self._tick_session(now)
        return self._take_inbox()

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
            msg = messages.decode(body)
        except messages.MessageError as exc:
            self.drops.add("malformed message", str(exc))
            self._reply_error(exc.request_id, exc.code, str(exc))
            return
        t = msg["t"]
        if t == "chunk":
            self._on_chunk(msg)
        elif t == "chunk_ack":
            transfer = self._outgoing.get(msg["id"])
            if transfer is not None:
                transfer.ack(msg["at"], self._clock())
                if transfer.done:
                    del self._outgoing[msg["id"]]
        elif t == "abort":
            self._on_abort(msg)
        elif messages.carries_body(t) and "body" not in msg:
            self._start_incoming(msg)
        else:
            if t == "ping":
                self._send_message({"t": "pong", "id": msg["id"]})
            elif t == "hello" or t == "ready":
                self._set_peer(msg)
            if "sha256" in msg and "body" in msg and \
                    hashlib.sha256(msg["body"]).digest() != msg["sha256"]:
                self._reply_error(msg["id"], messages.DIGEST,
                                  "%s %d: body does not match its sha256" % (t, msg["id"]))
                return
            self._inbox.append(msg)

    def _set_peer(self, msg):
        self.peer_max_frame = max(MIN_FRAME, msg["max_frame"])
        self.peer_window = max(1, msg["window"])

    def _start_incoming(self, msg):
        request_id = msg["id"]
        size = msg["size"]
        if size > self.max_body:
            self._reply_error(request_id, messages.TOO_LARGE,
                              "%s %d: body of %d bytes exceeds max_body %d"
                              % (msg["t"], request_id, size, self.max_body))
            return
        if request_id not in self._incoming and len(self._incoming) >= self.max_transfers:
            self._reply_error(request_id, messages.BUSY,
                              "%s %d: already receiving %d bodies"
                              % (msg["t"], request_id, len(self._incoming)))
            return
        self._incoming[request_id] = None  # let the old buffer go before the new one
        if self.collect:
            gc.collect()  # one large buffer: ask for it on a tidy heap
        transfer = Incoming(request_id, msg, size, msg["sha256"], self._clock(),
                            self._stall_ms * (self._retries + 1))
        self._incoming[request_id] = transfer
        if size == 0:
            self._finish_incoming(transfer)

    def _on_chunk(self, msg):
        transfer = self._incoming.get(msg["id"])
        if transfer is None:
            self.drops.add("stray chunk", "no body announced for request %d" % msg["id"])
            return
        at = transfer.add(msg["at"], msg["data"], self._clock())
        self._send_message({"t": "chunk_ack", "id": transfer.id, "at": at})
        if transfer.complete:
            self._finish_incoming(transfer)

    def _finish_incoming(self, transfer):
        del self._incoming[transfer.id]
        msg = transfer.message
        if not transfer.digest_ok():
            self._reply_error(transfer.id, messages.DIGEST,
                              "%s %d: body of %d bytes does not match its sha256"
                              % (msg["t"], transfer.id, transfer.size))
            return
        msg["body"] = transfer.buffer
        del msg["size"]
        self._inbox.append(msg)

    def _on_abort(self, msg):
        request_id = msg["id"]
        if self._incoming.pop(request_id, None) is not None:
            return
        if self._outgoing.pop(request_id, None) is not None:
            self._inbox.append(messages.error(request_id, messages.ABORTED,
                                              "peer aborted: %s" % msg["reason"]))


class _BoardLink(Link):
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


def board_link(board_id, pairing_key, write, max_frame=frame.DEFAULT_MAX_FRAME,
               window=DEFAULT_WINDOW, max_body=DEFAULT_MAX_BODY, max_transfers=1, log=print,
               clock=ticks_ms, random=None, stall_ms=DEFAULT_STALL_MS, retries=DEFAULT_RETRIES):
    """The board's end; call open() on it, then feed() and tick() from the poll loop."""
    if max_frame > GATEWAY_MIN_FRAME:
        raise LinkError("a board's max_frame %d is above %d, the most every gateway accepts"
                        % (max_frame, GATEWAY_MIN_FRAME))
    link = _BoardLink(write, max_frame, window, max_body, max_transfers, 1, log, clock,
                      stall_ms, retries, GATEWAY_MIN_FRAME)
    link.session = session.BoardSession(board_id, pairing_key, link._send_record, link.drops,
                                        random)
    link.session.on_open = link._session_opened
    link._opened_at = clock()
    link.collect = True
    return link


def gateway_link(pairing_keys, write, max_frame=16384, window=8, max_body=4 * 1024 * 1024,
                 max_transfers=8, log=None, clock=ticks_ms, random=None,
                 stall_ms=DEFAULT_STALL_MS, retries=DEFAULT_RETRIES):
    """The gateway's end for one board connection; pairing_keys maps board id to key."""
    if max_frame < GATEWAY_MIN_FRAME:
        raise LinkError("a gateway's max_frame %d is below the protocol's %d"
                        % (max_frame, GATEWAY_MIN_FRAME))
    link = Link(write, max_frame, window, max_body, max_transfers, 2, log, clock,
                stall_ms, retries, MIN_FRAME)
    link.session = session.GatewaySession(pairing_keys, link._send_record, link.drops, random)
    link.session.on_open = link._session_opened
    return link
