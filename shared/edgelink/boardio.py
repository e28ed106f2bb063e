"""The board's byte pipes behind one interface: readinto(buf) -> count (0 if none), write(data).

Each port owns a preallocated `buffer` for the poll loop (see Link.poll).
"""

import errno

from edgelink import clock

DEFAULT_BUFFER = 512
# a peer that takes no byte for this long has stopped reading: the connection is given up
WRITE_STALL_MS = 5000
_WOULD_BLOCK = (errno.EAGAIN, getattr(errno, "EWOULDBLOCK", errno.EAGAIN),
                getattr(errno, "ETIMEDOUT", errno.EAGAIN))
# a gateway that hangs up with bytes of ours still unread resets the connection instead of
# closing it: the same hang-up, not a broken line
_RESET = getattr(errno, "ECONNRESET", 104)


class PortClosed(OSError):
    pass


class UartPort:
    """A serial line: MicroPython machine.UART, CircuitPython busio.UART or usb_cdc.data.

    Open the UART with timeout=0 so that reads never wait. With shares_repl=True
    the Ctrl-C byte (0x03) stops interrupting the program, since it is ordinary frame data.
    """

    def __init__(self, uart, shares_repl=False, buffer_size=DEFAULT_BUFFER):
        self._uart = uart
        self.buffer = bytearray(buffer_size)
        self._view = memoryview(self.buffer)
        if shares_repl:
            import micropython
            micropython.kbd_intr(-1)

    def _waiting(self):
        uart = self._uart
        if hasattr(uart, "any"):  # MicroPython
            return uart.any()
        return uart.in_waiting  # CircuitPython busio.UART and usb_cdc.Serial

    def readinto(self, buf):
        waiting = self._waiting()
        if not waiting:
            return 0
        view = self._view if buf is self.buffer else memoryview(buf)
        got = self._uart.readinto(view[:min(waiting, len(buf))])
        return got or 0

    def write(self, data):
        view = memoryview(data)
        sent = 0
        while sent < len(view):
            n = self._uart.write(view[sent:])
            sent += n or 0


def _poller(stream):
    """A select.poll watching `stream` for input, or None where the port has no select."""
    try:
        import select
        poller = select.poll()
        poller.register(stream, select.POLLIN)
    except (ImportError, AttributeError, OSError, TypeError):
        return None
    return poller


def wait(port, ms):
    """Idle until bytes arrive on `port` or `ms` pass (a plain sleep where it cannot tell)."""
    waiter = getattr(port, "wait", None)
    if waiter is None:
        clock.sleep_ms(ms)
    else:
        waiter(ms)


class SocketPort:
    """A TCP connection over Wi-Fi, made non-blocking here."""

    def __init__(self, sock, buffer_size=DEFAULT_BUFFER, sleep_ms=None,
                 write_stall_ms=WRITE_STALL_MS):
        self._sock = sock
        self._write_stall_ms = write_stall_ms
        self.buffer = bytearray(buffer_size)
        sock.setblocking(False)
        self._recv_into = getattr(sock, "recv_into", None) or sock.readinto
        self._sleep_ms = sleep_ms or clock.sleep_ms
        self._poller = _poller(sock)

    def wait(self, ms):
        # woken by the gateway's next frame, not a fixed sleep later
        if self._poller is None:
            self._sleep_ms(ms)
        else:
            self._poller.poll(ms)

    def readinto(self, buf):
        try:
            got = self._recv_into(buf)
        except OSError as exc:
            if exc.args and exc.args[0] in _WOULD_BLOCK:
                return 0
            if exc.args and exc.args[0] == _RESET:
                raise PortClosed("the gateway reset the TCP connection")
            raise
        if got is None:  # MicroPython's non-blocking readinto
            return 0
        if got == 0:
            raise PortClosed("the gateway closed the TCP connection")
        return got

    def write(self, data):
        view = memoryview(data)
        sent = 0
        since = None
        while sent < len(view):
            try:
                n = self._sock.send(view[sent:])
            except OSError as exc:
                if not (exc.args and exc.args[0] in _WOULD_BLOCK):
                    raise
                n = 0
            if n:
                sent += n
                since = None
                continue
            # the socket's send buffer is full: wait for the peer, but not for ever
            now = clock.ticks_ms()
            if since is None:
                since = now
            elif clock.ticks_diff(now, since) >= self._write_stall_ms:
                raise OSError("the peer has read nothing for %d s"
                              % (self._write_stall_ms // 1000))
            self._sleep_ms(1)

    def close(self):
        self._sock.close()


class FdPort:
    """A POSIX file descriptor (a pseudo-terminal, say) for the simulator under CPython."""

    def __init__(self, fd, buffer_size=DEFAULT_BUFFER):
        import os
        self._os = os
        self._fd = fd
        self.buffer = bytearray(buffer_size)
        os.set_blocking(fd, False)
        self._poller = _poller(fd)

    def wait(self, ms):
        if self._poller is None:
            clock.sleep_ms(ms)
        else:
            self._poller.poll(ms)

    def readinto(self, buf):
        try:
            return self._os.readv(self._fd, [buf])
        except BlockingIOError:
            return 0

    def write(self, data):
        view = memoryview(data)
        sent = 0
        while sent < len(view):
            try:
                sent += self._os.write(self._fd, view[sent:])
            except BlockingIOError:
                clock.sleep_ms(1)
