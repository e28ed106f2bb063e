"""The far end of the board's serial line (USB or UART): a TCP connection to the address in
EDGEHOST_CP_SERIAL, which the serial stand-ins read and write without waiting."""

import os

from _builtin import builtin

_socket = builtin("socket")
_select = builtin("select")


class Wire:
    """Bytes in and out of the line; in_waiting counts what has arrived and is not read."""

    def __init__(self):
        where = os.getenv("EDGEHOST_CP_SERIAL")
        if not where:
            raise OSError("no serial line: set EDGEHOST_CP_SERIAL to HOST:PORT")
        host, port = where.rsplit(":", 1)
        self._sock = _socket.socket()
        self._sock.connect(_socket.getaddrinfo(host, int(port))[0][-1])
        self._poll = _select.poll()
        self._poll.register(self._sock, _select.POLLIN)
        self._pending = bytearray()

    def in_waiting(self):
        if self._poll is not None and self._poll.poll(0):
            got = self._sock.recv(4096)
            if got:
                self._pending.extend(got)
            else:  # the far end hung up: as on a wire, no more bytes come
                self._poll = None
        return len(self._pending)

    def readinto(self, buf, nbytes=None):
        self.in_waiting()
        n = min(len(buf) if nbytes is None else nbytes, len(self._pending))
        if not n:
            return None
        buf[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def read(self, nbytes=None):
        self.in_waiting()
        n = len(self._pending) if nbytes is None or nbytes < 0 else nbytes
        buf = bytearray(min(n, len(self._pending)))
        got = self.readinto(buf)
        return bytes(buf) if got else None

    def write(self, data):
        view = memoryview(data)
        while view:
            view = view[self._sock.send(view):]
        return len(data)

    def reset_input_buffer(self):
        self.in_waiting()
        self._pending = bytearray()

    def close(self):
        self._sock.close()
