"""What differs between MicroPython, CircuitPython and CPython, kept in one place."""

import gc
import os
import sys
import time

IMPLEMENTATION = sys.implementation.name  # "micropython", "circuitpython" or "cpython"

if hasattr(time, "ticks_ms"):  # MicroPython
    ticks_ms = time.ticks_ms
    ticks_diff = time.ticks_diff
    sleep_ms = time.sleep_ms
else:  # CPython and CircuitPython: monotonic time, no wrap-around to handle
    _monotonic_ns = getattr(time, "monotonic_ns", None)

    def ticks_ms():
        if _monotonic_ns is not None:
            return _monotonic_ns() // 1000000
        return int(time.monotonic() * 1000)

    def ticks_diff(end, start):
        return end - start

    def sleep_ms(ms):
        time.sleep(ms / 1000)


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
