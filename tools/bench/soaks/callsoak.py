"""Many `edgehost board call` commands, each its own connection, through a byte-damaging proxy.

An `edgehost sim` board over TCP with the echo actor, `edgehost linkproxy`'s proxy in this
process damaging bytes both ways from the first byte of every connection (handshake included),
and the real command, `edgehost board --tcp PROXY call echo Echo PAYLOAD`, run once per call,
one after another, every payload its own. What a call may end as:

- **right**: exit status 0 and its own payload printed;
- **wrong**: exit status 0 and anything else printed (another call's payload, say): never
  acceptable;
- a **clear error**: exit status 1 and one line `edgehost: …` on stderr, within the command's
  own bounds (`bound_seconds`);
- **unclear**: anything else (a traceback, several lines, another status, or a clear error
  later than those bounds);
- **hung**: still running well past those bounds (killed).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path

from edgecli.linkfaults import Rates
from edgecli.linkproxy import LinkProxy
from edgegate.devices.boardclient import BoardClient
from edgegate.devices.boardkey import BoardKey
from edgegate.devices.session import CLOSE_SECONDS
from edgegate.devices.simprocess import EDGEHOST_CHILD, SimProcess
from edgegate.wascap import SignedModule

from .linksoak import START_TIMEOUT, signed_actor

ACTOR = "echo"
STARTUP_SECONDS = 5.0  # a command's own start (the interpreter, its imports), on a busy machine
HANG_FACTOR = 3  # a command still running at this many times its bound is hung


def bound_seconds(timeout: float) -> float:
    """The longest a failing `edgehost board … --timeout T call` may take: the session and the
    answer together within T, the hang-up within CLOSE_SECONDS, and the command's own start."""
    return timeout + CLOSE_SECONDS + STARTUP_SECONDS


class CallSoakResult:
    """What the calls ended as; `clean` when none was wrong, unclear or hung."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.calls = 0
        self.right = 0
        self.wrong = 0
        self.errors: dict[str, int] = {}  # clear errors, by kind
        self.unclear: list[str] = []  # what each unclear ending showed
        self.hung = 0
        self.wrong_seen: list[str] = []  # (payload sent, what came back) of each wrong answer
        self.slowest_error = 0.0
        self.began = time.monotonic()
        self.seconds = 0.0
        self.proxies: list[dict] = []

    @property
    def seconds_so_far(self) -> float:
        return time.monotonic() - self.began

    @property
    def clean(self) -> bool:
        return not (self.wrong or self.unclear or self.hung)

    def summary(self) -> dict:
        to_board = sum(p["to_board"]["bytes"] for p in self.proxies)
        to_gateway = sum(p["to_gateway"]["bytes"] for p in self.proxies)
        faults = {way: {name: sum(p[way][name] for p in self.proxies)
                        for name in ("flip", "drop", "duplicate")}
                  for way in ("to_board", "to_gateway")}
        return {"calls": self.calls, "right": self.right, "wrong": self.wrong,
                "errors": sum(self.errors.values()), "error_kinds": self.errors,
                "unclear": len(self.unclear), "hung": self.hung,
                "slowest_error_s": round(self.slowest_error, 1),
                "error_bound_s": bound_seconds(self.timeout),
                "seconds": round(self.seconds, 1), "wrong_seen": self.wrong_seen[:10],
                "unclear_seen": self.unclear[:10],
                "bytes": {"to_board": to_board, "to_gateway": to_gateway}, "faults": faults}

    def count(self, payload: str, code: int | None, out: str, err: str,
              seconds: float) -> None:
        """File one command's ending (code None: it was killed as hung)."""
        self.calls += 1
        lines = err.strip().splitlines()
        if code is None:
            self.hung += 1
        elif code == 0 and out == payload:
            self.right += 1
        elif code == 0:
            self.wrong += 1
            self.wrong_seen.append(f"{payload} -> {out[:60]}")
        elif (code == 1 and len(lines) == 1 and lines[0].startswith("edgehost: ")
                and seconds <= bound_seconds(self.timeout)):
            kind = error_kind(lines[0])
            self.errors[kind] = self.errors.get(kind, 0) + 1
            self.slowest_error = max(self.slowest_error, seconds)
        else:
            self.unclear.append(f"exit {code} after {seconds:.1f} s: {err.strip()[-300:]}")


def error_kind(line: str) -> str:
    """A clear error's line without what differs from call to call (addresses, figures)."""
    line = re.sub(r"tcp://[\w.\[\]:]+?:\d+", "ADDRESS", line)
    return re.sub(r"\d+", "N", line)[:120]


def damage(fraction: float) -> Rates:
    """`fraction` of the bytes damaged each way: flips, drops and duplicates in equal parts."""
    return Rates.damaged(fraction, unit="byte")


async def one_call(where: str, key_path: Path, payload: str, timeout: float,
                   result: CallSoakResult) -> None:
    """Run `edgehost board call` once through the proxy at `where` and file what it did."""
    command = [*EDGEHOST_CHILD, "board", "--tcp",
               where.removeprefix("tcp://"), "--key-file", str(key_path), "--timeout",
               f"{timeout:g}", "call", ACTOR, "Echo", payload]
    began = time.monotonic()
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(process.communicate(),
                                          HANG_FACTOR * bound_seconds(timeout))
    except TimeoutError:
        process.kill()
        await process.wait()
        result.count(payload, None, "", "", time.monotonic() - began)
        return
    result.count(payload, process.returncode, out.decode(errors="replace"),
                 err.decode(errors="replace"), time.monotonic() - began)


async def call_soak(folder: Path, runs: int, calls: int, fraction: float, seed: int = 1,
                    timeout: float = 10.0,
                    progress: Callable[[int, CallSoakResult], None] | None = None
                    ) -> CallSoakResult:
    """`runs` runs of `calls` commands each, every run through a proxy of its own seed
    (`seed`, `seed` + 1, …) in front of one simulated board; files kept in `folder`."""
    key_path = folder / "board.key"
    key = BoardKey.load(key_path) if key_path.exists() else BoardKey.create(key_path, "calls")
    sim = SimProcess(["--tcp", "127.0.0.1:0", "--key-file", str(key_path), "--flash-dir",
                      str(folder / "flash")], folder / "sim.err", START_TIMEOUT)
    result = CallSoakResult(timeout)
    try:
        host, port = sim.where.removeprefix("tcp://").rsplit(":", 1)
        client = await BoardClient.connect_tcp(host, int(port), key, timeout)
        try:
            module, actor = signed_actor(ACTOR)
            await client.install(module, SignedModule(module).token.text, actor)
        finally:
            await client.close()
        for run in range(runs):
            proxy = LinkProxy(damage(fraction), seed + run, sim.where, ("127.0.0.1", 0))
            try:
                where = await proxy.start()
                for number in range(calls):
                    await one_call(where, key_path, f"run {run} call {number}", timeout,
                                   result)
            finally:
                await proxy.stop()
                result.proxies.append(proxy.report())
            if progress is not None:
                progress(run, result)
    finally:
        sim.stop()
        result.seconds = result.seconds_so_far
    return result
