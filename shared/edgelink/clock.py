"""Millisecond ticks and sleeps on MicroPython, CircuitPython and CPython alike."""

import time


def _plain_diff(end, start):
    return end - start


def _ns_ms():
    # CircuitPython's float monotonic() loses milliseconds after an hour; the ns clock is an int
    return time.monotonic_ns() // 1000000


def _sleep_s(ms):
    time.sleep(ms / 1000)


# MicroPython's millisecond ticks wrap around; its ticks_diff knows how
ticks_diff = getattr(time, "ticks_diff", _plain_diff)
ticks_ms = getattr(time, "ticks_ms", _ns_ms)
sleep_ms = getattr(time, "sleep_ms", _sleep_s)
