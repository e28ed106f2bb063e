"""The boards under test as hosts of a lattice, for the pytest plugin: one gateway serving them
on NATS, the control verbs of each host, calls and events from the lattice."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import nats

from edgecli.benchboard import BenchLoop, BoardTestError, EdgehostBoard, signed_module
from edgecli.benchparts import (
    BoardEntry,
    ConfigError,
    Gateway,
    GatewayError,
    Host,
    HostError,
    KeyPair,
    LatticeConfig,
)

EVENT_TYPE = "com.wasmcloud.lattice."


class LatticeHost:
    """One board's host on the lattice, its `edgegate.Host` verbs run for a sync test."""

    def __init__(self, host: Host, board: EdgehostBoard, bench: BenchLoop):
        self.host = host
        self.board = board
        self._bench = bench

    @property
    def id(self) -> str:
        return self.host.id

    def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        try:
            return self._bench.run(coro)
        except HostError as exc:
            raise BoardTestError(self.board._failure("host " + self.host.id, str(exc))) \
                from None

    def start_actor(self, source: Any, dev_sign: bool = False,
                    caps: list[str] | tuple[str, ...] = ()) -> str:
        """Start an actor on this host from its module's path or bytes (signed for the session
        with `dev_sign`) or an OCI reference; its public key."""
        if dev_sign:
            source = signed_module(source, dev_sign, caps)[0]
        return self._run(self.host.start_actor(source))

    def stop_actor(self, actor: str) -> None:
        self._run(self.host.stop_actor(actor))

    def update_actor(self, actor: str, source: Any) -> None:
        self._run(self.host.update_actor(actor, source))

    def actors(self) -> list[str]:
        return self._run(self.host.actors())

    def set_link(self, actor: str, contract_id: str, provider_id: str,
                 link_name: str = "default", values: dict[str, str] | None = None) -> None:
        self._run(self.host.set_link(actor, contract_id, provider_id, link_name, values))

    def links(self) -> list[dict[str, Any]]:
        return self._run(self.host.links())

    def labels(self) -> dict[str, str]:
        return self._run(self.host.labels())


class EdgehostLattice:
    """A gateway in this process serving `boards` as hosts on the NATS at `nats_url`, on a
    lattice prefix of its own; `hosts[i]` is board i's host."""

    def __init__(self, nats_url: str, boards: list[EdgehostBoard], bench: BenchLoop,
                 keys_dir: Path, timeout: float = 10.0):
        self.nats_url = nats_url
        self.prefix = "edgehost-test-" + secrets.token_hex(4)
        self.timeout = timeout
        self._bench = bench
        self._events: list[dict[str, Any]] = []
        self._arrived: asyncio.Condition | None = None
        self._nc: Any = None
        env = {"WASMCLOUD_CLUSTER_SEED": KeyPair.generate("cluster").seed,
               "WASMCLOUD_LATTICE_PREFIX": self.prefix, "EDGEHOST_KEYS_DIR": str(keys_dir)}
        try:
            config = LatticeConfig.from_env(env, nats_url=nats_url)
        except ConfigError as exc:
            raise BoardTestError("--lattice-nats %s: %s" % (nats_url, exc)) from None
        entries = []
        for board in boards:
            board.disconnect()  # the gateway takes the board's link
            address = board.address
            how = "tcp" if address.startswith("tcp://") else "port"
            entries.append(BoardEntry(board.board_id, board.key.pairing_key, how,
                                      address.removeprefix("tcp://"),
                                      labels=dict(board.labels)))
        self.gateway = Gateway(config, entries, env)
        bench.run(self._start())
        self.hosts = [LatticeHost(Host.serving(self.gateway, b.board_id), b, bench)
                      for b in boards]

    async def _start(self) -> None:
        self._arrived = asyncio.Condition()
        self._nc = await nats.connect(self.nats_url)
        await self._nc.subscribe("wasmbus.evt.%s" % self.prefix, cb=self._event)
        try:
            await self.gateway.start()
        except GatewayError as exc:
            raise BoardTestError("the gateway did not start: %s" % exc) from None
        await self._wait_for(lambda: all(h.ready for h in self.gateway.hosts.values())
                             and len(self.gateway.hosts) == len(self.gateway.boards),
                             "every board to be a host on the lattice")

    async def _event(self, msg: Any) -> None:
        event = json.loads(msg.data)
        assert self._arrived is not None
        async with self._arrived:
            self._events.append(event)
            self._arrived.notify_all()

    async def _wait_for(self, ready: Any, what: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not ready():
            if time.monotonic() > deadline:
                raise BoardTestError("the lattice waited %g s for %s" % (self.timeout, what))
            await asyncio.sleep(0.05)

    def call(self, actor: str, operation: str, payload: bytes = b"") -> bytes:
        """A signed invocation from the lattice to an actor (its key or call alias)."""
        return self.hosts[0]._run(self.hosts[0].host.call_actor(actor, operation, payload))

    def events(self) -> list[dict[str, Any]]:
        """The CloudEvents the lattice has published since it started."""
        return list(self._events)

    def wait_for_event(self, kind: str, timeout: float | None = None,
                       **data: Any) -> dict[str, Any]:
        """The first event of `kind` (e.g. "actor_started") whose data has the items `data`;
        BoardTestError when none comes within `timeout` seconds."""
        wanted = EVENT_TYPE + kind

        def found() -> dict[str, Any] | None:
            for event in self._events:
                body = event.get("data") or {}
                if event.get("type") == wanted and all(body.get(k) == v for k, v in
                                                       data.items()):
                    return event
            return None

        async def wait() -> dict[str, Any]:
            assert self._arrived is not None
            async with self._arrived:
                await self._arrived.wait_for(lambda: found() is not None)
            return found()  # type: ignore[return-value]

        limit = self.timeout if timeout is None else timeout
        try:
            return self._bench.run(asyncio.wait_for(wait(), limit))
        except asyncio.TimeoutError:  # not the builtin one before Python 3.11
            seen = sorted({str(e.get("type", "?")).removeprefix(EVENT_TYPE)
                           for e in self._events})
            raise BoardTestError("no %s event %s within %g s on lattice %s (seen: %s)"
                                 % (kind, data or "", limit, self.prefix,
                                    ", ".join(seen) or "none")) from None

    def stop(self) -> None:
        async def stop() -> None:
            await self.gateway.stop()
            if self._nc is not None:
                await self._nc.close()

        self._bench.run(stop())
