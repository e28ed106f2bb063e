"""Stand-in for CircuitPython's time (shared-bindings/time): monotonic clocks, no ticks_*."""

from _builtin import builtin

_time = builtin("time")
localtime = _time.localtime
mktime = _time.mktime
sleep = _time.sleep
time = _time.time

# the unix port has only wrapping millisecond ticks: add up their differences into a clock
# that does not wrap (each call must come within the ticks' period, days here)
_last = _time.ticks_ms()
_elapsed_ms = 0


def monotonic_ns():
    global _last, _elapsed_ms
    now = _time.ticks_ms()
    _elapsed_ms += _time.ticks_diff(now, _last)
    _last = now
    return _elapsed_ms * 1000000


def monotonic():
    return monotonic_ns() / 1e9
