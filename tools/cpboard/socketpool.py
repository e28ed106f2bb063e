"""Stand-in for CircuitPython's socketpool (shared-bindings/socketpool) over the unix socket."""

import errno

from _builtin import builtin

_socket = builtin("socket")
_select = builtin("select")


class Socket:
    """shared-bindings/socketpool/Socket.c: no recv(), no fileno(), no makefile()."""

    def __init__(self, sock, family, kind):
        self._sock = sock
        self.family = family
        self.type = kind
        self._timeout = None  # blocking
        self._poll = _select.poll()
        self._poll.register(sock, _select.POLLIN)

    def accept(self):
        sock, address = self._sock.accept()
        return Socket(sock, self.family, self.type), _address(address)

    def bind(self, address):
        self._sock.bind(_socket.getaddrinfo(address[0], address[1])[0][-1])

    def close(self):
        self._sock.close()

    def connect(self, address):
        self._sock.connect(_socket.getaddrinfo(address[0], address[1])[0][-1])

    def listen(self, backlog):
        self._sock.listen(backlog)

    def recv_into(self, buffer, bufsize=0):
        # MicroPython's socket has no recv_into, and its blocking readinto waits until the
        # buffer is full: wait here for the first byte, then take what has come
        if self._timeout != 0:
            wait_ms = -1 if self._timeout is None else int(self._timeout * 1000)
            if not self._poll.poll(wait_ms):
                raise OSError(errno.ETIMEDOUT)
            self._sock.setblocking(False)
        try:
            got = self._sock.readinto(buffer, bufsize or len(buffer))
        finally:
            self._restore_timeout()
        if got is None:  # CircuitPython raises where MicroPython's stream returns None
            raise OSError(errno.EAGAIN)
        return got

    def send(self, data):
        return self._sock.send(data)

    def sendall(self, data):
        view = memoryview(data)
        while view:
            view = view[self._sock.send(view):]

    def setblocking(self, flag):
        self.settimeout(None if flag else 0)

    def setsockopt(self, level, optname, value):
        self._sock.setsockopt(level, optname, value)

    def settimeout(self, value):
        self._timeout = value
        self._restore_timeout()

    def _restore_timeout(self):
        if self._timeout is None:
            self._sock.setblocking(True)
        else:
            self._sock.settimeout(self._timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _address(raw):
    """MicroPython's unix socket gives addresses as sockaddr bytes; socketpool as (ip, port)."""
    if isinstance(raw, tuple):
        return raw
    port = raw[2] << 8 | raw[3]
    return ("%d.%d.%d.%d" % (raw[4], raw[5], raw[6], raw[7]), port)


class SocketPool:
    """shared-bindings/socketpool/SocketPool.c: sockets of one radio's network."""

    AF_INET = _socket.AF_INET
    SOCK_STREAM = _socket.SOCK_STREAM
    SOCK_DGRAM = _socket.SOCK_DGRAM
    SOL_SOCKET = _socket.SOL_SOCKET
    SO_REUSEADDR = _socket.SO_REUSEADDR
    IPPROTO_TCP = 6  # the values of CircuitPython's ESP32 port (lwIP)
    TCP_NODELAY = 1

    def __init__(self, radio):
        self._radio = radio

    def socket(self, family=AF_INET, type=SOCK_STREAM, proto=0):
        return Socket(_socket.socket(family, type, proto), family, type)

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        found = _socket.getaddrinfo(host, port)[0]
        return [(self.AF_INET, self.SOCK_STREAM, 0, "", _address(found[-1]))]
