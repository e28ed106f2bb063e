"""What differs between MicroPython, CircuitPython and CPython, kept in one place."""

import errno
import gc
import os
import sys

# the board's clock is the link's: one implementation of ticks for both
from edgelink.clock import sleep_ms, ticks_diff, ticks_ms  # noqa: F401

IMPLEMENTATION = sys.implementation.name  # "micropython", "circuitpython" or "cpython"
IMPLEMENTATION_VERSION = "%d.%d.%d" % tuple(sys.implementation.version[:3])

try:
    # map_file(path) -> bytes read in place, not copied into RAM: the board's wasm3 module has
    # it on the unix port (mmap); elsewhere stored modules are read into RAM
    from wasm3 import map_file
except ImportError:
    map_file = None


def limit_linear_memory(nbytes):
    """Hold actors' linear memory, all together, to `nbytes`: the board's wasm3 module keeps
    it apart from the Python heap (in PSRAM on an ESP32), where nothing else bounds it to the
    profile's share. pywasm3 has no such limit; the fit model alone holds the simulator."""
    try:
        from wasm3 import set_linear_memory_limit
    except ImportError:
        return
    set_linear_memory_limit(nbytes)


def random_bytes(n):
    """Cryptographic random bytes (os.urandom exists on all three)."""
    return os.urandom(n)


def free_memory():
    """Free heap in bytes, or None where the interpreter cannot tell (CPython)."""
    gc.collect()
    mem_free = getattr(gc, "mem_free", None)
    return mem_free() if mem_free is not None else None


def free_flash(path):
    """Free bytes on the filesystem holding `path`, or None if it cannot be read."""
    try:
        st = os.statvfs(path)
    except (AttributeError, OSError):
        return None
    return st[0] * st[4]  # f_bsize * f_bavail


def file_size(path):
    """The size of a file in bytes, 0 if it is not there."""
    try:
        return os.stat(path)[6]
    except OSError:
        return 0


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def makedirs(path):
    """Create `path` and its parents (MicroPython's os has no makedirs)."""
    parts = path.split("/")
    for i in range(1, len(parts) + 1):
        part = "/".join(parts[:i])
        if part and not exists(part):
            os.mkdir(part)


def listdir(path):
    try:
        return os.listdir(path)
    except OSError:
        return []


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def sync():
    """Flush filesystem buffers to flash where the port can (MicroPython has os.sync)."""
    fn = getattr(os, "sync", None)
    if fn is not None:
        fn()


class Watchdog:
    """The hardware watchdog where there is one; on CPython it only records the feeds."""

    def __init__(self, timeout_ms):
        self.timeout_ms = timeout_ms
        self.feeds = 0
        self._wdt = None
        try:
            if IMPLEMENTATION == "micropython":
                import machine

                if hasattr(machine, "WDT"):
                    self._wdt = machine.WDT(timeout=timeout_ms)
            elif IMPLEMENTATION == "circuitpython":
                import microcontroller
                import watchdog

                wd = microcontroller.watchdog
                wd.timeout = timeout_ms / 1000
                wd.mode = watchdog.WatchDogMode.RESET
                self._wdt = wd
        except Exception:
            self._wdt = None  # no watchdog on this port: the board keeps going without

    def feed(self):
        self.feeds += 1
        if self._wdt is not None:
            self._wdt.feed()


def platform_name():
    """What the board reports as its platform: `esp32`, `rp2`, ... or `linux` for a simulator."""
    return sys.platform


# --- the link's byte pipe, by transport kind (config.json "transport")

ACCEPT_TIMEOUT_S = 1


def link_connector(transport):
    """A function that (re)connects the link and returns its port (see edgelink.boardio).

    It raises OSError when the link cannot be opened now (no Wi-Fi, gateway down, ...).
    """
    from edgelink.boardio import SocketPort, UartPort

    kind = transport["kind"]
    if kind == "tcp-listen":
        return TcpListener(transport.get("host", "0.0.0.0"), transport["port"])
    if kind == "wifi":
        def connect():
            sock = wifi_connect(transport["ssid"], transport.get("password", ""),
                                transport["gateway_host"], transport["gateway_port"])
            return SocketPort(sock)
        return connect
    if kind == "uart":
        line = UartPort(open_uart(transport.get("uart", 1), transport.get("baud", 115200),
                                  transport["tx"], transport["rx"]))
    else:  # usb: the board's own USB serial port
        line = UartPort(open_usb(), shares_repl=IMPLEMENTATION == "micropython")
    return lambda: line  # a serial line does not break; the link reopens its session on it


class TcpListener:
    """A board that waits for its gateway to call in: calling it accepts the next connection
    (None while there is none, so the board feeds its watchdog and asks again)."""

    def __init__(self, host, port_number):
        from edgelink.boardio import SocketPort

        self._socket_port = SocketPort
        self._listener = tcp_listen(host, port_number)
        self._poller = None
        try:
            import select

            self._poller = select.poll()
            self._poller.register(self._listener, select.POLLIN)
        except (ImportError, AttributeError, OSError, TypeError):
            self._poller = None  # then a waiting connection cannot be seen before accept

    def __call__(self):
        try:
            return self._socket_port(self._listener.accept()[0])
        except OSError as exc:
            if exc.args and exc.args[0] in (errno.ETIMEDOUT, errno.EAGAIN):
                return None
            raise

    def waiting(self):
        """True when another connection waits to be accepted."""
        return self._poller is not None and bool(self._poller.poll(0))


def tcp_listen(host, port_number):
    if IMPLEMENTATION == "circuitpython":
        import socketpool
        import wifi

        # the board joins the Wi-Fi of its settings.toml at start-up, before this runs
        pool = socketpool.SocketPool(wifi.radio)
        sock = pool.socket(pool.AF_INET, pool.SOCK_STREAM)
        sock.setsockopt(pool.SOL_SOCKET, pool.SO_REUSEADDR, 1)
        sock.bind((host, port_number))
    else:
        import socket

        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(socket.getaddrinfo(host, port_number)[0][-1])
    sock.listen(1)
    sock.settimeout(ACCEPT_TIMEOUT_S)
    return sock


def open_uart(uart_id, baud, tx, rx):
    if IMPLEMENTATION == "circuitpython":
        import busio
        import microcontroller

        return busio.UART(getattr(microcontroller.pin, "GPIO%d" % tx),
                          getattr(microcontroller.pin, "GPIO%d" % rx),
                          baudrate=baud, timeout=0, receiver_buffer_size=4096)
    import machine

    return machine.UART(uart_id, baudrate=baud, tx=tx, rx=rx, timeout=0, rxbuf=4096)


def open_usb():
    if IMPLEMENTATION == "circuitpython":
        import usb_cdc

        if usb_cdc.data is None:
            raise OSError("usb_cdc data port is off: boot.py must call usb_cdc.enable(data=True)")
        usb_cdc.data.timeout = 0
        return usb_cdc.data
    return _StdioSerial()


class _StdioSerial:
    """MicroPython's USB serial (the REPL's stdin/stdout) shaped like a UART."""

    def __init__(self):
        import select

        self._in = sys.stdin.buffer
        self._out = sys.stdout.buffer
        self._poll = select.poll()
        self._poll.register(sys.stdin, select.POLLIN)

    def any(self):
        return 1 if self._poll.poll(0) else 0

    def readinto(self, buf):
        return self._in.readinto(buf)

    def write(self, data):
        return self._out.write(data)


def wifi_connect(ssid, password, host, port_number, timeout_ms=20000):
    """Join the Wi-Fi network (if not joined yet) and open a TCP connection to the gateway."""
    if IMPLEMENTATION == "circuitpython":
        import socketpool
        import wifi

        if not wifi.radio.connected:
            wifi.radio.connect(ssid, password)
        pool = socketpool.SocketPool(wifi.radio)
        sock = pool.socket(pool.AF_INET, pool.SOCK_STREAM)
        sock.connect((host, port_number))
        return sock
    import socket

    if IMPLEMENTATION == "micropython":
        try:
            import network
        except ImportError:
            network = None  # the unix port: the host's network is already there
        if network is not None:
            wlan = network.WLAN(network.STA_IF)
            wlan.active(True)
            if not wlan.isconnected():
                wlan.connect(ssid, password)
                start = ticks_ms()
                while not wlan.isconnected():
                    if ticks_diff(ticks_ms(), start) > timeout_ms:
                        raise OSError("cannot join Wi-Fi network %s" % ssid)
                    sleep_ms(100)
    sock = socket.socket()
    try:
        sock.connect(socket.getaddrinfo(host, port_number)[0][-1])
    except OSError:
        sock.close()
        raise
    return sock


# --- the module region (see edgemodule.region): where installed modules live, mapped in place

# The ESP32 maps the region with esp_partition_mmap in the wasm3 C module
# (wasm3.map_partition), not through MicroPython's ROMFS support (vfs.rom_ioctl): that is
# compiled in only with MICROPY_VFS_ROM, which the ESP32 port of MicroPython 1.28 leaves off
# (turned on, the boot code tries to mount the partition as a ROMFS image at /rom), and it
# finds only a partition labelled "romfs". The C module maps our own partition whole, once,
# with no change to MicroPython's configuration. Writes go through esp32.Partition (erase,
# then program), which keeps the flash cache coherent with the mapping.
# The CPython simulator models an ESP32, whose modules run in place, though pywasm3 keeps its
# own copy of each: its budget counts them as mapped
SIMULATES_MAPPING = IMPLEMENTATION == "cpython"


def open_region(root, size):
    """The module region: `size` bytes of the board's "modules" partition on an ESP32 (fewer
    where the partition is smaller), else a file of `size` bytes under `root` (mapped where
    the wasm3 module can map files)."""
    if sys.platform == "esp32":
        from edgemodule.region import PARTITION

        try:
            return PartitionFlash(PARTITION, size)
        except OSError:
            pass  # a firmware without the partition (stock MicroPython): a file, not mapped
    return FileFlash(root + "/modules.region", size)


_ERASED = b"\xff" * 256


class FileFlash:
    """A file standing in for a flash partition: erased bytes read 0xFF."""

    def __init__(self, path, size):
        self.path = path
        self.size = size
        have = file_size(path)
        with open(path, "ab") as f:
            while have < size:
                n = min(256, size - have)
                f.write(_ERASED if n == 256 else _ERASED[:n])
                have += n
        self._file = open(path, "r+b")

    def readinto(self, offset, buf):
        self._file.seek(offset)
        self._file.readinto(buf)

    def read(self, offset, n):
        """`n` bytes as one bytes object (a module the port cannot map, read into RAM once)."""
        self._file.seek(offset)
        return self._file.read(n)

    def write(self, offset, data):
        self._file.seek(offset)
        self._file.write(data)

    def erase(self, offset, length):
        self._file.seek(offset)
        while length > 0:
            self._file.write(_ERASED if length >= 256 else _ERASED[:length])
            length -= 256

    def sync(self):
        self._file.flush()
        sync()

    def mapped(self, offset, length):
        if map_file is None:
            return None
        self._file.flush()
        return map_file(self.path, offset, length)

    def close(self):
        self._file.close()


class PartitionFlash:
    """The first `size` bytes of an ESP32 flash partition (all of it where it is smaller),
    written through esp32.Partition, mapped by wasm3.

    A partition table need not be the one the firmware build made for the board's profile: a
    larger partition is used (and mapped) only as far as the profile's region, which the
    profile checks the chip can map; a smaller one is used whole, and the board offers only
    that much flash for modules."""

    def __init__(self, label, size):
        import esp32

        found = esp32.Partition.find(esp32.Partition.TYPE_DATA, label=label)
        if not found:
            raise OSError("no %s partition" % label)
        self.label = label
        self._part = found[0]
        self.size = min(size, self._part.ioctl(4, 0) * self._part.ioctl(5, 0))  # blocks * size

    def readinto(self, offset, buf):
        self._part.readblocks(offset // 4096, buf, offset % 4096)

    def read(self, offset, n):
        buf = bytearray(n)
        self.readinto(offset, buf)
        return buf

    def write(self, offset, data):
        self._part.writeblocks(offset // 4096, data, offset % 4096)  # no erase with offset

    def erase(self, offset, length):
        for block in range(offset // 4096, (offset + length + 4095) // 4096):
            self._part.ioctl(6, block)

    def sync(self):
        pass

    def mapped(self, offset, length):
        from wasm3 import map_partition

        return map_partition(self.label, offset, length, self.size)

    def close(self):
        pass
