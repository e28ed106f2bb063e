"""Seeded damage to a byte stream between gateway and board: what `edgehost linkproxy` does to it.

A `Damage` takes the bytes going one way and returns what to deliver and when. In frame mode
(the default) it cuts the stream at the link's 0x00 delimiters and damages whole frames: a
flipped bit, a frame dropped, sent twice, held back, cut short, or swapped with the next one;
in byte mode each byte may be flipped, dropped or doubled. Each fault has its own rate (a
probability per frame or per byte), the random numbers come from one seed, and every fault
done is counted, so that a run can be repeated and reported.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

FRAME_FAULTS = ("flip", "drop", "duplicate", "delay", "truncate", "reorder", "disconnect")
BYTE_FAULTS = ("flip", "drop", "duplicate")
DELIMITER = 0


class FaultError(ValueError):
    """A fault setting that cannot be used; the message names it and the rule."""


class Rates:
    """How often each fault happens (0 to 1), in frame or byte units, and the delay given."""

    def __init__(self, unit: str = "frame", delay_ms: float = 50.0, **rates: float):
        if unit not in ("frame", "byte"):
            raise FaultError(f"--unit {unit!r}: must be frame or byte")
        allowed = FRAME_FAULTS if unit == "frame" else BYTE_FAULTS
        for name, rate in rates.items():
            if name not in FRAME_FAULTS:
                raise FaultError(f"unknown fault {name!r}; the faults are "
                                 f"{', '.join(FRAME_FAULTS)}")
            if not 0.0 <= rate <= 1.0:
                raise FaultError(f"--{name} {rate:g}: a rate must be from 0 to 1")
            if rate and name not in allowed:
                raise FaultError(f"--{name}: only with --unit frame")
        if sum(rates.values()) > 1.0:
            raise FaultError(f"the rates add up to {sum(rates.values()):g}; at most 1 "
                             f"(each {unit} gets at most one fault)")
        if delay_ms < 0:
            raise FaultError(f"--delay-ms {delay_ms:g}: must be 0 or more")
        self.unit = unit
        self.delay_s = delay_ms / 1000.0
        self.rates = {name: float(rates.get(name, 0.0)) for name in allowed}

    @classmethod
    def damaged(cls, fraction: float, **extra: float) -> Rates:
        """`fraction` of the frames damaged, as flips, drops and duplicates in equal parts."""
        third = fraction / 3
        return cls(flip=third, drop=third, duplicate=third, **extra)

    @property
    def clean(self) -> bool:
        return not any(self.rates.values())


class Damage:
    """One direction's damage. feed(data) -> [(delay in seconds, bytes), ...] in order;
    `disconnect` is set when a disconnect fault has fallen (the proxy then hangs up)."""

    def __init__(self, rates: Rates, rng: random.Random):
        self.rates = rates
        self._rng = rng
        self._partial = bytearray()
        self._held: bytes | None = None  # a frame waiting to be swapped with the next
        self.counts = {name: 0 for name in rates.rates}
        self.units = 0  # frames (or bytes) seen
        self.disconnect = False

    def feed(self, data: bytes) -> list[tuple[float, bytes]]:
        if self.rates.unit == "byte":
            return [(0.0, self._bytes(data))]
        out: list[tuple[float, bytes]] = []
        start = 0
        while True:
            end = data.find(DELIMITER, start)
            if end < 0:
                self._partial += data[start:]
                return out
            self._partial += data[start:end + 1]
            start = end + 1
            frame = bytes(self._partial)
            self._partial.clear()
            out.extend(self._frame(frame))

    def _pick(self) -> str | None:
        roll = self._rng.random()
        for name, rate in self.rates.rates.items():
            if roll < rate:
                return name
            roll -= rate
        return None

    def _frame(self, frame: bytes) -> Iterable[tuple[float, bytes]]:
        self.units += 1
        fault = self._pick() if len(frame) > 1 else None  # idle delimiters pass
        if fault is not None:
            self.counts[fault] += 1
        released = []
        if fault == "reorder" and self._held is None:
            self._held = frame
            return released
        if fault == "flip":
            damaged = bytearray(frame)
            damaged[self._rng.randrange(len(frame) - 1)] ^= 1 << self._rng.randrange(8)
            frame = bytes(damaged)
        elif fault == "truncate":
            frame = frame[:self._rng.randrange(1, len(frame) - 1)] + b"\x00"
        elif fault == "disconnect":
            self.disconnect = True
        if fault not in ("drop", "disconnect"):
            delay = self.rates.delay_s if fault == "delay" else 0.0
            released.append((delay, frame))
            if fault == "duplicate":
                released.append((0.0, frame))
        if self._held is not None:  # the frame held back goes after this one
            released.append((0.0, self._held))
            self._held = None
        return released

    def _bytes(self, data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            self.units += 1
            fault = self._pick()
            if fault is not None:
                self.counts[fault] += 1
            if fault == "flip":
                out.append(byte ^ (1 << self._rng.randrange(8)))
            elif fault == "duplicate":
                out += bytes((byte, byte))
            elif fault != "drop":
                out.append(byte)
        return bytes(out)

    def report(self) -> dict[str, int]:
        return {self.rates.unit + "s": self.units, **self.counts}


def pair(rates: Rates, seed: int) -> tuple[Damage, Damage]:
    """Damage for both directions (to the board, to the gateway), from one seed."""
    rng = random.Random(seed)
    return (Damage(rates, random.Random(rng.getrandbits(64))),
            Damage(rates, random.Random(rng.getrandbits(64))))
