"""A Host on a lattice: a gateway in this process serves the board, and every operation takes
the path the control interface takes (`edgegate.control`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from edgegate.config import LatticeConfig
from edgegate.control import ControlInterface
from edgegate.control.commands import FAILURES, one_line
from edgegate.control.requests import ControlError
from edgegate.devices.registry import BoardEntry
from edgegate.gateway import Gateway, GatewayError
from edgegate.hostapi.errors import (
    ActorError,
    BoardUnreachable,
    CallFailed,
    LinkError,
    ProviderError,
)
from edgegate.hostapi.sources import ActorSource, fetch_module, provider_reference, read_source
from edgegate.jetstream.entries import LinkDefinition, MetadataError
from edgegate.registries import ActorFetcher
from edgegate.rpc.router import is_actor_key
from edgegate.rpc.sending import NoAnswer, NoResponder, Refused, SendError, call_actor
from edgegate.vhost.host import BoardHost


class LatticeHost:
    """The host of `board_id` on `gateway`; `close()` stops the gateway if this host owns it."""

    on_lattice = True

    def __init__(self, gateway: Gateway, board_id: str, timeout: float, owns_gateway: bool):
        self.gateway = gateway
        self.board_id = board_id
        self.timeout = timeout
        self._owns_gateway = owns_gateway

    @classmethod
    async def start(cls, config: LatticeConfig, entry: BoardEntry, env: Mapping[str, str],
                    timeout: float) -> LatticeHost:
        """A gateway of its own for the board of `entry`, once the board's host is ready."""
        host = cls(Gateway(config, [entry], env), entry.board_id, timeout, True)
        try:
            await host._serve(entry)
        except BaseException:
            await host.close()
            raise
        return host

    async def _serve(self, entry: BoardEntry) -> None:
        try:
            await self.gateway.start()
        except GatewayError as exc:
            raise BoardUnreachable(str(exc)) from None
        deadline = time.monotonic() + self.timeout
        while not self._serving():
            if time.monotonic() > deadline:
                raise BoardUnreachable(f"no answer from board {entry.board_id} at "
                                       f"{entry.address} within {self.timeout:g} s: check that "
                                       f"it is powered and connected, and its key file")
            await asyncio.sleep(0.05)

    def _serving(self) -> bool:
        host = self.gateway.hosts.get(self.board_id)
        return host is not None and host.ready

    async def close(self) -> None:
        if self._owns_gateway:
            await self.gateway.stop()

    @property
    def id(self) -> str:
        return self.board_host().id

    def board_host(self) -> BoardHost:
        host = self.gateway.hosts.get(self.board_id)
        if host is None or host.stopped:
            raise BoardUnreachable(f"board {self.board_id} is not connected, so its host is "
                                   f"not on the lattice")
        return host

    def control(self) -> ControlInterface:
        assert self.gateway.control is not None
        return self.gateway.control

    # -- actors

    async def start_actor(self, source: ActorSource, annotations: Mapping[str, str]) -> str:
        module, ref = read_source(source)  # a reference is fetched as `la` fetches it
        try:
            installed = await self.control().commands.launch_actor(
                self.board_host(), ref, dict(annotations), module=module)
        except FAILURES as exc:
            raise ActorError(f"actor {ref or 'from bytes'} not started: {one_line(exc)}") \
                from None
        return installed.actor

    async def update_actor(self, key: str, source: ActorSource) -> None:
        module, ref = await fetch_module(self.control().fetcher, source)
        try:
            await self.control().commands.update_actor(self.board_host(), ref, key,
                                                       module=module)
        except ControlError as exc:
            raise ActorError(str(exc)) from None

    async def stop_actor(self, key: str) -> None:
        try:
            await self.control().commands.remove_actor(self.board_host(), key)
        except ControlError as exc:
            raise ActorError(str(exc)) from None

    async def actors(self) -> list[str]:
        return sorted(self.board_host().actors)

    def key_of(self, actor: str) -> str | None:
        host = self.board_host()
        if actor in host.actors or is_actor_key(actor):
            return actor
        for field in ("alias", "name"):
            named = [key for key, running in host.actors.items()
                     if getattr(running, field) == actor]
            if len(named) == 1:
                return named[0]
        return self._refs(host).get(actor)

    async def call_actor(self, actor: str, operation: str, payload: bytes) -> bytes:
        lattice = self.board_host().lattice
        key = self.key_of(actor) or lattice.metadata.actor_for_alias(actor)
        if key is None:
            raise CallFailed(f"no actor with call alias {actor!r} on lattice "
                             f"{lattice.prefix!r} (give its public key, M…, or a call alias)")
        try:
            return await call_actor(lattice.rpc, lattice.payloads, lattice.prefix,
                                    lattice.config.cluster, key, operation, payload,
                                    self.timeout)
        except NoResponder:
            raise CallFailed(f"no host runs actor {key} on lattice {lattice.prefix!r}") \
                from None
        except NoAnswer:
            raise CallFailed(f"actor {key} did not answer {operation} within "
                             f"{self.timeout:g} s") from None
        except Refused as exc:
            raise CallFailed(f"{actor} {operation}: {exc.error}") from None
        except SendError as exc:
            raise CallFailed(f"{actor} {operation}: {exc}") from None

    # -- providers and links

    async def start_provider(self, source: str | Path, link_name: str) -> str:
        control = self.control()
        ref, fetcher = provider_reference(source), None
        if ref.startswith("file://"):
            fetcher = ActorFetcher(replace(control.fetcher.settings, allow_file_load=True))
        try:
            return await control.commands.start_provider(self.board_host(), ref, link_name,
                                                         fetcher=fetcher)
        except ControlError as exc:
            raise ProviderError(f"provider {ref}: {exc}") from None

    async def stop_provider(self, provider_key: str, link_name: str) -> None:
        try:
            await self.control().commands.stop_provider(self.board_host(), provider_key,
                                                        link_name)
        except ControlError as exc:
            raise ProviderError(f"provider {provider_key}: {exc}") from None

    async def providers(self) -> list[dict[str, Any]]:
        return self.board_host().providers.inventory()

    async def set_link(self, actor: str, contract_id: str, provider_id: str, link_name: str,
                       values: Mapping[str, str] | None) -> None:
        queries = self.control().queries
        key = self.key_of(actor) or actor
        try:
            await queries.set_link(LinkDefinition(actor_id=key, provider_id=provider_id,
                                                  contract_id=contract_id, link_name=link_name,
                                                  values=dict(values or {})))
        except MetadataError as exc:
            raise LinkError(f"link {key} -> {provider_id}: {exc}") from None

    async def remove_link(self, actor: str, contract_id: str, link_name: str) -> None:
        queries = self.control().queries
        try:
            await queries.remove_link(self.key_of(actor) or actor, contract_id, link_name)
        except (ControlError, MetadataError) as exc:
            raise LinkError(str(exc)) from None

    async def links(self) -> list[dict[str, Any]]:
        return [ld.to_dict() for ld in self.board_host().lattice.metadata.links.values()]

    # -- what the host knows

    async def claims(self) -> dict[str, dict[str, Any]]:
        return {key: actor.claims for key, actor in self.board_host().actors.items()}

    async def labels(self) -> dict[str, str]:
        return dict(self.board_host().labels)

    async def add_labels(self, labels: Mapping[str, str]) -> None:
        board = self.board_host()
        board.entry.labels.update(labels)  # what its labels are made from
        # the lattice hears of them now, not at the next heartbeat
        await board.lattice.events.publish("host_heartbeat", board.id, board.heartbeat())

    async def oci_refs(self) -> dict[str, str]:
        return self._refs(self.board_host())

    def _refs(self, host: BoardHost) -> dict[str, str]:
        records = self.control().records
        refs = {key: records.of(host, key).image_ref for key in host.actors}
        return {ref: key for key, ref in refs.items() if ref}
