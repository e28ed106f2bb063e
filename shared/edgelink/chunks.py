"""Bodies too large for one frame: split into chunks under a window, reassembled in bounded memory.

Chunks go in order. The receiver acknowledges the next offset it expects after every chunk;
the sender keeps at most `window` chunks unacknowledged, goes back to the acknowledged offset
when no acknowledgement of any kind (of a chunk, or of a frame by the link) has come for
`stall_ms`, and gives up after `retries` such stalls. A receiver already busy with other
bodies may tell the sender to wait its turn; a waiting transfer sends nothing and does not
stall until the receiver says go.
"""

from edgelink import hmac256
from edgelink.clock import ticks_diff

DEFAULT_STALL_MS = 2000
DEFAULT_RETRIES = 3


class Outgoing:
    """One body on its way out, as a request id and a window of chunks."""

    def __init__(self, request_id, body, chunk_size, window, now,
                 stall_ms=DEFAULT_STALL_MS, retries=DEFAULT_RETRIES, head=None):
        if chunk_size < 1 or window < 1:
            raise ValueError("chunk size %d and window %d must be at least 1"
                             % (chunk_size, window))
        self.id = request_id
        self.body = memoryview(body)
        self.size = len(body)
        self.chunk_size = chunk_size
        self.window = window
        self.acked = 0
        self.sent = 0
        self.stall_ms = stall_ms
        self.retries = retries
        self.stalls = 0
        self._since = now
        self.head = head  # the message that announced the body, sent again if it was lost
        self.waiting = False

    @property
    def done(self):
        return self.acked >= self.size

    def wait(self):
        """The receiver queued the body: send nothing more until it says go."""
        self.waiting = True
        self.sent = self.acked

    def go(self, now):
        """The receiver has started on the body: send it from the acknowledged offset."""
        self.waiting = False
        self.sent = self.acked
        self.stalls = 0
        self._since = now

    def next_chunk(self):
        """(offset, data) of the next chunk the window allows, or None."""
        if self.waiting or self.sent >= self.size or \
                self.sent - self.acked >= self.window * self.chunk_size:
            return None
        at = self.sent
        end = min(at + self.chunk_size, self.size)
        self.sent = end
        return at, self.body[at:end]

    def ack(self, at, now):
        """The receiver expects offset `at` next; an offset it cannot know of is ignored."""
        if self.acked < at <= self.sent:
            self.acked = at
            self.stalls = 0
            self._since = now

    def heard(self, at):
        """The link's frames were acknowledged at `at`: a receiver that takes frames is slow,
        not gone, so its transfer does not stall while they keep coming."""
        if ticks_diff(at, self._since) > 0:
            self._since = at

    def stalled(self, now):
        """True when the transfer must be abandoned; rewinds to the acknowledged offset first."""
        if self.done or self.waiting or ticks_diff(now, self._since) < self.stall_ms:
            return False
        self.stalls += 1
        self._since = now
        self.sent = self.acked
        return self.stalls > self.retries


class Incoming:
    """One body coming in, filled in order, its SHA-256 taken as the chunks arrive.

    The bytes go to a buffer of the announced size, or, when a `sink` is given (see
    Link.body_sink), straight on to it: then the body never sits in RAM whole.
    """

    def __init__(self, request_id, message, size, sha256, now, stall_ms, sink=None):
        self.id = request_id
        self.message = message
        self.size = size
        self.sha256 = sha256
        self.filled = 0
        self.sink = sink
        self.buffer = bytearray(size) if sink is None else None
        self._hash = hmac256.sha256()
        self.stall_ms = stall_ms
        self._since = now

    @property
    def complete(self):
        return self.filled >= self.size

    def add(self, at, data, now):
        """Take the chunk at offset `at` if it is the next one; return the offset to ack.

        A sink that cannot take the bytes raises OSError (flash full, say)."""
        if at == self.filled and 0 < len(data) <= self.size - at:
            if self.sink is None:
                self.buffer[at:at + len(data)] = data
            else:
                self.sink.write(data)
            self._hash.update(data)
            self.filled = at + len(data)
            self._since = now
        return self.filled

    def digest_ok(self):
        return self._hash.digest() == self.sha256

    def body(self):
        """What the message carries as its body: the buffer, or the sink, closed."""
        if self.sink is None:
            return self.buffer
        self.sink.close()
        return self.sink

    def discard(self):
        """The transfer is given up: the sink lets go of what it took."""
        if self.sink is not None:
            self.sink.discard()
            self.sink = None

    def stalled(self, now):
        return ticks_diff(now, self._since) >= self.stall_ms
