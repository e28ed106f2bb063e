"""A Host without a lattice: the board's own dispatch serves calls; nothing leaves it.

Installs and removals take the one install path (`edgegate.vhost.install`) on the board's
session; the board's host calls that would need a lattice are refused by `BoardClient`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from edgegate.config import host_labels
from edgegate.control.commands import FAILURES, one_line
from edgegate.devices.boardclient import BoardClient
from edgegate.devices.boardkey import BoardKey
from edgegate.devices.registry import BoardEntry
from edgegate.devices.session import BoardError, BoardRefused
from edgegate.hostapi.errors import (
    ActorError,
    BoardUnreachable,
    CallFailed,
    HostError,
    LatticeRequired,
)
from edgegate.hostapi.sources import ActorSource, fetch_module
from edgegate.registries import ActorFetcher, RegistrySettings
from edgegate.vhost.install import put_on_board, take_off_board
from edgegate.vhost.labels import board_labels
from edgegate.wascap import ClaimsError, KeyPair
from edgegate.wascap.tokens import Token


class LocalHost:
    """The board reached directly; `labels` are those given to the Host (a manifest adds to
    them), `env` what stands for the environment."""

    on_lattice = False

    def __init__(self, client: BoardClient, labels: dict[str, str], env: Mapping[str, str]):
        self.client = client
        self.id = KeyPair.generate("server").public_key
        self._labels = labels
        self._env = env
        self._fetcher = ActorFetcher(RegistrySettings.from_env(env, allow_file_load=True))
        self._claims: dict[str, dict[str, Any]] = {}  # actor → verified claims
        self._refs: dict[str, str] = {}  # reference → actor it started

    @classmethod
    async def connect(cls, entry: BoardEntry, timeout: float,
                      env: Mapping[str, str]) -> LocalHost:
        key = BoardKey(entry.board_id, entry.pairing_key)
        try:
            if entry.how == "port":
                client = await BoardClient.connect_serial(entry.address, key, entry.baud,
                                                          timeout)
            else:
                host, port = entry.tcp_address
                client = await BoardClient.connect_tcp(host, port, key, timeout)
        except BoardError as exc:
            raise BoardUnreachable(str(exc)) from None
        return cls(client, entry.labels, env)

    async def close(self) -> None:
        await self.client.close()

    # -- actors

    async def start_actor(self, source: ActorSource, annotations: Mapping[str, str]) -> str:
        module, ref = await fetch_module(self._fetcher, source)
        try:
            actor = await self._install(module, "start")
        except FAILURES as exc:
            raise ActorError(f"actor {ref or 'from bytes'} not started: {one_line(exc)}") \
                from None
        if ref:
            self._refs[ref] = actor
        return actor

    async def update_actor(self, key: str, source: ActorSource) -> None:
        module, ref = await fetch_module(self._fetcher, source)
        try:
            await self._install(module, "update", key)
        except FAILURES as exc:
            raise ActorError(f"actor {key} from {ref or 'bytes'}: {one_line(exc)}") from None
        if ref:
            self._refs[ref] = key

    async def stop_actor(self, key: str) -> None:
        try:
            removed = await take_off_board(self.client.session, key)
        except BoardError as exc:
            raise ActorError(f"actor {key}: {one_line(exc)}") from None
        self._claims.pop(removed, None)
        self._refs = {ref: k for ref, k in self._refs.items() if k != key}

    async def _install(self, module: bytes, mode: str, expect_actor: str | None = None) -> str:
        installed = await put_on_board(self.client.session, self.id, module, mode,
                                       expect_actor)
        self._claims[installed.actor] = installed.claims
        return installed.actor

    async def actors(self) -> list[str]:
        return sorted(self.client.actors)

    def key_of(self, actor: str) -> str | None:
        found = self.client.resolve(actor)
        if found in self.client.actors:
            return found
        return self._refs.get(actor)

    async def call_actor(self, actor: str, operation: str, payload: bytes) -> bytes:
        client = self.client
        try:
            return await client.call(client.resolve(actor), operation, payload)
        except BoardRefused as exc:
            raise CallFailed(f"{actor} {operation}: {exc.message}") from None
        except BoardError as exc:
            raise CallFailed(f"{actor} {operation}: {one_line(exc)}") from None

    # -- what needs a lattice

    async def start_provider(self, source: Any, link_name: str) -> NoReturn:
        _needs_lattice("start_provider")

    async def stop_provider(self, provider_key: str, link_name: str) -> NoReturn:
        _needs_lattice("stop_provider")

    async def providers(self) -> list[dict[str, Any]]:
        return []

    async def set_link(self, *link: Any) -> NoReturn:
        _needs_lattice("set_link")

    async def remove_link(self, *link: Any) -> NoReturn:
        _needs_lattice("remove_link")

    async def links(self) -> NoReturn:
        _needs_lattice("links")

    # -- what the host knows

    async def claims(self) -> dict[str, dict[str, Any]]:
        """The verified claims of every actor on the board (read from it when not known)."""
        try:
            for actor in self.client.actors:
                if actor not in self._claims:
                    self._claims[actor] = await self._read_claims(actor)
        except BoardError as exc:
            raise HostError(str(exc)) from None
        return {actor: self._claims[actor] for actor in self.client.actors}

    async def _read_claims(self, actor: str) -> dict[str, Any]:
        reply = await self.client.session.request({"t": "get_claims", "actor": actor})
        try:
            return Token(bytes(reply.get("body") or b"").decode()).verify()
        except (ClaimsError, UnicodeDecodeError) as exc:
            raise BoardError(f"board {self.client.board_id}: the claims of actor {actor} do "
                             f"not verify ({exc})") from None

    async def labels(self) -> dict[str, str]:
        return board_labels(self.client.board_id, self.client.hello, self._labels,
                            host_labels(self._env))

    async def add_labels(self, labels: Mapping[str, str]) -> None:
        self._labels.update(labels)

    async def oci_refs(self) -> dict[str, str]:
        return dict(self._refs)


def _needs_lattice(what: str) -> NoReturn:
    raise LatticeRequired(f"{what}: this host has no lattice; give it a nats_url")
