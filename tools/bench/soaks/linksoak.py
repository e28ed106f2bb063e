"""A soak of the link: many invocations of the counting actor through a damaging proxy.

An `edgehost sim` board, `edgehost linkproxy`'s proxy in this process, and `BoardClient` (what
`edgehost board` talks through) calling the `counter` actor with at most `in_flight` calls
outstanding. Each call's payload is its own number, and the actor answers `<n>:<payload>` with
n the count of calls it has run: a wrong answer shows as another payload, a call run twice as
an n seen twice and a total above the calls made, a call lost as a timeout.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from edgecli import actorbuild
from edgecli.linkfaults import Rates
from edgecli.linkproxy import LinkProxy
from edgegate.devices.boardclient import BoardClient, BoardError
from edgegate.devices.boardkey import BoardKey
from edgegate.devices.simprocess import SimProcess
from edgegate.wascap import ActorMetadata, KeyPair, SignedModule, sign_module

START_TIMEOUT = 30.0


class SoakResult:
    """What a soak saw; `clean` is True when every call got its own right answer, once."""

    def __init__(self) -> None:
        self.calls = 0
        self.right = 0
        self.wrong = 0  # an answer for another payload, or not from the counter
        self.answered_twice = 0  # a count seen twice: a call run twice (or answered twice)
        self.timed_out = 0  # no answer within the call timeout
        self.late = 0  # answers that came after the caller had given up (lattice mode)
        self.errors: dict[str, int] = {}  # clear errors, by message
        self.executed = 0  # the counter's own total at the end
        self.latencies: list[float] = []
        self.seconds = 0.0
        self.proxy: dict = {}

    @property
    def executed_twice(self) -> int:
        return max(0, self.executed - self.right - sum(self.errors.values()) - self.timed_out)

    @property
    def clean(self) -> bool:
        return (self.right == self.calls and self.executed == self.calls
                and not (self.wrong or self.answered_twice or self.timed_out))

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0

    def summary(self) -> dict:
        return {"calls": self.calls, "right": self.right, "wrong": self.wrong,
                "answered_twice": self.answered_twice, "timed_out": self.timed_out,
                "late": self.late,
                "errors": sum(self.errors.values()), "error_kinds": self.errors,
                "executed": self.executed, "executed_twice": self.executed_twice,
                "p50_ms": round(self.percentile(0.5) * 1000, 2),
                "p99_ms": round(self.percentile(0.99) * 1000, 2),
                "mean_ms": round(statistics.fmean(self.latencies) * 1000, 2)
                if self.latencies else 0.0,
                "seconds": round(self.seconds, 1), "proxy": self.proxy}


def signed_actor(name: str = "counter") -> tuple[bytes, str]:
    """One of the project's actors (the counter unless `name` says another), signed afresh
    under its own name: (the module, the actor's key)."""
    module = actorbuild.build_all()[name].read_bytes()
    subject = KeyPair.generate("module")
    signed = sign_module(module, KeyPair.generate("account"), subject, ActorMetadata(name))
    return signed, subject.public_key


async def soak(folder: Path, calls: int, rates: Rates, seed: int = 1, in_flight: int = 16,
               timeout: float = 30.0, progress: Callable[[int], None] | None = None,
               sim_args: tuple[str, ...] = ()) -> SoakResult:
    """Run one soak in `folder` (key file, flash, the simulator's stderr)."""
    key_path = folder / "board.key"
    key = BoardKey.load(key_path) if key_path.exists() else BoardKey.create(key_path, "soak")
    sim = SimProcess(["--tcp", "127.0.0.1:0", "--key-file", str(key_path), "--flash-dir",
                      str(folder / "flash"), *sim_args], folder / "sim.err", START_TIMEOUT)
    proxy = LinkProxy(rates, seed, sim.where, ("127.0.0.1", 0))
    result = SoakResult()
    try:
        where = await proxy.start()
        host, port = where.removeprefix("tcp://").rsplit(":", 1)
        client = await BoardClient.connect_tcp(host, int(port), key, timeout)
        try:
            module, actor = signed_actor()
            await client.install(module, SignedModule(module).token.text, actor)
            await drive(board_caller(client, actor), calls, in_flight, result, progress)
            result.executed = int(await client.call(actor, "Total", b""))
        finally:
            await client.close()
    finally:
        await proxy.stop()
        result.proxy = proxy.report()
        sim.stop()
    return result


class Silence(Exception):  # noqa: N818 (an outcome, not a fault of the soak)
    """No answer at all within the caller's wait: a lost call."""


class ClearError(Exception):  # noqa: N818
    """The call failed with a clear error; the message says which (a kind, counted)."""


async def drive(call: Callable[[bytes], Awaitable[bytes]], calls: int, in_flight: int,
                result: SoakResult, progress: Callable[[int], None] | None = None) -> None:
    """Make `calls` calls of `call(payload)` (a Count answer, Silence or ClearError), at most
    `in_flight` outstanding, and count what came back into `result`."""
    counts: set[bytes] = set()
    numbers = iter(range(calls))
    began = time.perf_counter()

    async def worker() -> None:
        for number in numbers:  # one iterator shared: each number is called once
            await one(number)

    async def one(number: int) -> None:
        payload = b"%d" % number
        start = time.perf_counter()
        try:
            answer = await call(payload)
        except Silence:
            result.timed_out += 1
            return
        except ClearError as exc:
            kind = str(exc)[:80]
            result.errors[kind] = result.errors.get(kind, 0) + 1
            return
        result.latencies.append(time.perf_counter() - start)
        count, _, echoed = answer.partition(b":")
        if echoed != payload or not count.isdigit():
            result.wrong += 1
        elif count in counts:
            result.answered_twice += 1
        else:
            counts.add(count)
            result.right += 1
        if progress is not None:
            progress(result.right)

    result.calls = calls
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    result.seconds = time.perf_counter() - began


def board_caller(client: BoardClient, actor: str) -> Callable[[bytes], Awaitable[bytes]]:
    """Count calls straight over the link, as `edgehost board` makes them."""
    async def call(payload: bytes) -> bytes:
        try:
            return await client.call(actor, "Count", payload)
        except BoardError as exc:
            text = str(exc)
            if "no answer to invoke within" in text:
                raise Silence(text) from None
            raise ClearError(text.split(": ", 1)[-1]) from None
    return call
