"""A board under test for the pytest plugin: simulated or real, driven from plain sync code.

The link to the board runs on an event loop of its own thread, so a user's test needs no
asyncio; the board's log lines are gathered there all along, for failure messages and reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

from edgecli.benchmap import RUNTIMES
from edgecli.benchparts import (
    ActorMetadata,
    BoardClient,
    BoardError,
    BoardKey,
    BoardRefused,
    FaultError,
    KeyPair,
    LinkProxy,
    ProxyError,
    Rates,
    SignedModule,
    SimError,
    SimProcess,
    sign_module,
)

LOG_TAIL = 8  # the log lines a failure message shows
SIM_START_S = 30.0  # the board's MicroPython boots and restores its actors first
RESET_PULSE_S = 0.1
BOOT_S = 2.0  # a real board: ROM, bootloader, MicroPython, actors restored from flash


class BoardTestError(AssertionError):
    """What the board under test did not do; str() names the board, the actor, the board's
    reason and the last lines of its log."""


class BenchLoop:
    """An event loop in a daemon thread; `run(coro)` waits for the coroutine's result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                       name="edgehost-bench")
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        __tracebackhide__ = True
        try:
            return asyncio.run_coroutine_threadsafe(coro, self.loop).result()
        except BoardTestError as exc:
            # the test's line is where it failed, not the loop's
            raise exc.with_traceback(None) from None

    async def wait(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """The coroutine's result, awaited from another event loop (an asyncio test's)."""
        __tracebackhide__ = True
        try:
            return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))
        except BoardTestError as exc:
            raise exc.with_traceback(None) from None

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


class DevSigner:
    """Signs unsigned modules for tests: one account for the session, one module key per
    actor name, so installing a new build of an actor replaces the old one."""

    def __init__(self) -> None:
        self.account = KeyPair.generate("account")
        self.modules: dict[str, KeyPair] = {}

    def sign(self, data: bytes, name: str, caps: list[str]) -> bytes:
        subject = self.modules.setdefault(name, KeyPair.generate("module"))
        return sign_module(data, self.account, subject, ActorMetadata(name, caps=caps))


DEV_SIGNER = DevSigner()


def signed_module(source: str | os.PathLike[str] | bytes, dev_sign: bool = False,
                  caps: list[str] | tuple[str, ...] = ()) -> tuple[bytes, SignedModule, str]:
    """A module's bytes from its path or bytes, with its verified claims and its name; an
    unsigned one signed for the session when `dev_sign`. BoardTestError says what is wrong."""
    __tracebackhide__ = True
    if isinstance(source, bytes | bytearray):
        data, name = bytes(source), "actor"
    else:
        path = Path(source)
        name = path.stem
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise BoardTestError("install %s: cannot read it (%s)" % (path, exc.strerror)) \
                from None
    try:
        module = SignedModule(data)
        if module.token is None:
            if not dev_sign:
                raise BoardTestError("install %s: the module has no claims; sign it with "
                                     "`edgehost claims sign` or pass dev_sign=True" % name)
            module = SignedModule(data := DEV_SIGNER.sign(data, name, list(caps)))
        module.verify()
    except ValueError as exc:  # not wasm, bad claims
        raise BoardTestError("install %s: %s" % (name, exc)) from None
    return data, module, name


class EdgehostBoard:
    """One board under test, reached over its link. Subclasses say where it is and how it
    restarts."""

    simulated = False
    runtime = "micropython"
    baud = 921600  # a serial line's speed

    def __init__(self, key: BoardKey, profile: str | None, bench: BenchLoop,
                 timeout: float = 10.0):
        self.key = key
        self.board_id = key.board_id
        self.profile = profile
        self.timeout = timeout
        self.labels: dict[str, str] = {}
        self._bench = bench
        self._client: BoardClient | None = None
        self._log: list[str] = []
        self._proxy: LinkProxy | None = None
        self._log_task: asyncio.Task[None] | None = None
        self._names: dict[str, str] = {}  # name → key of what was installed here (the
        # board's hello, which names its actors, is only read again at the next greeting)

    # -- where the board is (subclasses)

    @property
    def address(self) -> str:
        """tcp://HOST:PORT or a serial port."""
        raise NotImplementedError

    def _restart(self) -> None:
        raise NotImplementedError

    def console(self) -> list[str]:
        """What the board printed on its console (the simulated board's output)."""
        return []

    def stop(self) -> None:
        self.disconnect()

    # -- the link

    def connect(self) -> EdgehostBoard:
        if self._client is None:
            address = self._proxy.where if self._proxy is not None else self.address
            self._client = self._run(self._open(address), "connect")
        return self

    def disconnect(self) -> None:
        """Hang up (a gateway may then take the board on)."""
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(BoardError, OSError):
                self._bench.run(self._close(client))

    async def _close(self, client: BoardClient) -> None:
        if self._log_task is not None:
            self._log_task.cancel()
            self._log_task = None
        await client.close()

    async def _open(self, address: str) -> BoardClient:
        if address.startswith("tcp://"):
            host, _, port = address.removeprefix("tcp://").rpartition(":")
            client = await BoardClient.connect_tcp(host, int(port), self.key, self.timeout)
        else:
            client = await BoardClient.connect_serial(address, self.key, self.baud, self.timeout)
        self._log_task = asyncio.get_running_loop().create_task(self._gather_logs(client))
        return client

    async def _gather_logs(self, client: BoardClient) -> None:
        async for msg in client.logs():
            if msg["t"] == "event":
                data = json.dumps(msg.get("data") or {}, default=repr)
                self._log.append("event %s %s" % (msg.get("kind", "?"), data))
                continue
            actor = msg.get("actor")
            source = client.actor_label(actor) + ": " if actor else ""
            self._log.append("%s %s%s" % (str(msg.get("level", "info")).upper(), source,
                                          msg.get("text", "")))

    @property
    def client(self) -> BoardClient:
        """The board's link, connected first when it is not."""
        return self.connect()._client  # type: ignore[return-value]

    def _run(self, coro: Coroutine[Any, Any, Any], what: str) -> Any:
        try:
            return self._bench.run(coro)
        except BoardError as exc:
            raise BoardTestError(self._failure(what, str(exc))) from None

    def _failure(self, what: str, reason: str) -> str:
        tail = self.logs()[-LOG_TAIL:] or self.console()[-LOG_TAIL:]
        text = "board %s (%s): %s: %s" % (self.board_id, self.address, what, reason)
        if tail:
            text += "\nlast lines of the board's log:\n" + "\n".join("  " + t for t in tail)
        return text

    # -- what a test does

    def install(self, source: str | os.PathLike[str] | bytes, dev_sign: bool = False,
                caps: list[str] | tuple[str, ...] = ()) -> str:
        """Install an actor from its module's path or bytes; its public key (M…).

        An unsigned module is refused unless `dev_sign`: it is then signed with a key made for
        this test session, with the capabilities `caps`."""
        __tracebackhide__ = True  # the test's line is where it failed
        module = signed_module(source, dev_sign, caps)
        return self._bench.run(self.connect()._install(module))

    async def ainstall(self, source: str | os.PathLike[str] | bytes, dev_sign: bool = False,
                       caps: list[str] | tuple[str, ...] = ()) -> str:
        """`install` for an asyncio test."""
        __tracebackhide__ = True
        module = signed_module(source, dev_sign, caps)
        return await self._bench.wait(self.connect()._install(module))

    # _install and _call run on the bench's loop, connected already (connecting waits on it)

    async def _install(self, signed: tuple[bytes, SignedModule, str]) -> str:
        data, module, name = signed
        actor = module.claims["sub"]
        assert self._client is not None
        try:
            await self._client.install(data, module.token.text, actor)
        except BoardError as exc:
            raise BoardTestError(self._failure("install %s (%s)" % (name, actor), str(exc))) \
                from None
        self._names[name] = actor
        return actor

    def call(self, actor: str, operation: str, payload: bytes = b"") -> bytes:
        """Invoke an operation of an actor (its key, call alias or name); the answer's bytes.
        BoardTestError names the board, the actor, the board's reason and its last log lines."""
        __tracebackhide__ = True  # the test's line is where it failed
        return self._bench.run(self.connect()._call(actor, operation, payload))

    async def acall(self, actor: str, operation: str, payload: bytes = b"") -> bytes:
        """`call` for an asyncio test."""
        __tracebackhide__ = True
        return await self._bench.wait(self.connect()._call(actor, operation, payload))

    async def _call(self, actor: str, operation: str, payload: bytes) -> bytes:
        client = self._client
        assert client is not None
        key = self._names.get(actor) or client.resolve(actor)
        try:
            return await client.call(key, operation, payload)
        except BoardError as exc:
            reason = exc.message if isinstance(exc, BoardRefused) else str(exc)
            label = actor if key == actor else "%s (%s)" % (key, actor)
            raise BoardTestError(self._failure("actor %s %s" % (label, operation), reason)) \
                from None

    def actors(self) -> dict[str, dict[str, Any]]:
        """The board's actors: {key: {sha256, alias, name, rpc_version}}."""
        return self.client.actors

    def logs(self) -> list[str]:
        """The log lines and events the board sent since the test began."""
        return list(self._log)

    def budget(self) -> dict[str, Any]:
        """The board's actor slots and memory pages, as its hello says."""
        return dict(self.client.hello.get("budget") or {})

    def health(self) -> dict[str, Any]:
        """Free memory and flash, uptime and actors, read afresh from the board (it greets
        again)."""
        self.disconnect()
        info = self.client.info()
        return {name: info[name] for name in ("free_mem", "free_flash", "uptime_ms", "actors")}

    def facts(self) -> dict[str, str]:
        """What the board says it is (for reports): id, profile, firmware, engine, os."""
        hello = self.client.hello
        return {"board_id": self.board_id, "profile": str(hello.get("profile")),
                "firmware": str(hello.get("firmware")), "engine": str(hello.get("engine")),
                "os": "%s %s" % (hello.get("os"), hello.get("os_version") or ""),
                "simulated": str(self.simulated).lower()}

    def reset(self) -> None:
        """Restart the board (a simulated one boots again on its flash; a real one is reset
        through RTS) and greet it again; its actors come back from flash."""
        self.disconnect()
        self._restart()
        self.connect()

    @contextlib.contextmanager
    def faults(self, seed: int = 1, unit: str = "frame", delay_ms: float = 50.0,
               **rates: float) -> Iterator[LinkProxy]:
        """Damage the line while the block runs (edgehost linkproxy's faults: flip, drop,
        duplicate, delay, truncate, reorder, disconnect, each a rate from 0 to 1)."""
        if not self.address.startswith("tcp://"):
            raise BoardTestError("board %s: faults need a board reached over TCP (--board-tcp "
                                 "or the simulated board), not %s" % (self.board_id,
                                                                     self.address))
        try:
            proxy = LinkProxy(Rates(unit=unit, delay_ms=delay_ms, **rates), seed, self.address,
                              ("127.0.0.1", 0))
            self._bench.run(proxy.start())
        except (FaultError, ProxyError) as exc:
            raise BoardTestError("board %s: faults: %s" % (self.board_id, exc)) from None
        self.disconnect()
        self._proxy = proxy
        try:
            self.connect()
            yield proxy
        finally:
            self.disconnect()
            self._proxy = None
            self._bench.run(proxy.stop())


class SimulatedBoard(EdgehostBoard):
    """`edgehost sim` on TCP: the board's code on CPython, MicroPython or CircuitPython; its
    key and flash in `folder`, kept across resets."""

    simulated = True

    def __init__(self, folder: Path, runtime: str, profile: str | None, bench: BenchLoop,
                 board_id: str = "sim", timeout: float = 10.0):
        if runtime not in RUNTIMES:
            raise BoardTestError("--board-runtime %s: must be one of %s"
                                 % (runtime, ", ".join(RUNTIMES)))
        folder.mkdir(parents=True, exist_ok=True)
        key_file = folder / "board.key"
        key = BoardKey.load(key_file) if key_file.exists() else BoardKey.create(key_file,
                                                                                 board_id)
        super().__init__(key, profile, bench, timeout)
        self.runtime = runtime
        self.folder = folder
        self.key_file = key_file
        self.boots = 0
        self._sim: SimProcess | None = None
        self._restart()

    @property
    def address(self) -> str:
        return self._sim.where if self._sim is not None else "not started"

    def _restart(self) -> None:
        if self._sim is not None:
            self._sim.stop()
        args = ["--tcp", "127.0.0.1:0", "--key-file", str(self.key_file), "--flash-dir",
                str(self.folder / "flash")]
        if self.profile:
            args += ["--profile", self.profile]
        if self.runtime != "cpython":
            args.append("--" + self.runtime)
        self.boots += 1
        try:
            self._sim = SimProcess(args, self.folder / ("console%d.log" % self.boots),
                                   SIM_START_S)
        except SimError as exc:
            self._sim = None
            raise BoardTestError("the simulated board (%s) did not start: %s"
                                 % (self.runtime, exc)) from None

    def console(self) -> list[str]:
        return self._sim.stderr.splitlines() if self._sim is not None else []

    def stop(self) -> None:
        super().stop()
        if self._sim is not None:
            self._sim.stop()
            self._sim = None


class RealBoard(EdgehostBoard):
    """A provisioned board on a serial port (`port`) or on Wi-Fi (`tcp`, HOST:PORT)."""

    def __init__(self, where: str, key: BoardKey | Path, profile: str | None, bench: BenchLoop,
                 baud: int = 921600, timeout: float = 10.0):
        """`key` is the board's key, or its key file."""
        if isinstance(key, Path):
            try:
                key = BoardKey.load(key)
            except BoardError as exc:
                raise BoardTestError(str(exc)) from None
        super().__init__(key, profile, bench, timeout)
        self.where, self.baud = where, baud

    @property
    def address(self) -> str:
        return self.where

    def _restart(self) -> None:
        """Pull EN low through RTS (DTR high keeps IO0 high: boot the firmware, not the ROM
        loader), as esptool's hard reset does."""
        if self.where.startswith("tcp://"):
            raise BoardTestError("board %s: reset needs its serial port (--board-port); on "
                                 "Wi-Fi there are no reset lines" % self.board_id)
        import serial

        with serial.serial_for_url(self.where, self.baud) as line:
            line.dtr = False
            line.rts = True
            time.sleep(RESET_PULSE_S)
            line.rts = False
        time.sleep(BOOT_S)
