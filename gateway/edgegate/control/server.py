"""The control interface's subscriptions for all board hosts of one gateway, and dispatch.

One set of subscriptions serves every host of the gateway (as the OTP host's lattice server
serves its virtual hosts): host commands and inventories arrive on wildcard subjects and go to
the host they name; a subject naming a host of another gateway is left to that gateway.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from edgegate.control.auctions import Auctions
from edgegate.control.commands import HostCommands
from edgegate.control.inventory import ActorRecords, inventory
from edgegate.control.queries import LatticeQueries
from edgegate.control.requests import ControlError, refused, reply_json
from edgegate.lattice import flushed
from edgegate.registries import ActorFetcher, RegistrySettings

if TYPE_CHECKING:
    from edgegate.lattice import Lattice
    from edgegate.vhost.host import BoardHost

log = logging.getLogger(__name__)

Handler = Callable[[Msg], Coroutine[Any, Any, None]]


class ControlInterface:
    """Serves `{ctl}.{L}.…` for the hosts `hosts()` lists, until `stop()`."""

    def __init__(self, lattice: Lattice, hosts: Callable[[], list[BoardHost]],
                 env: Mapping[str, str] | None = None):
        self.lattice = lattice
        self.hosts = hosts
        # the registry variables (WASMCLOUD_OCI_*) of `env`, else of the process
        settings = RegistrySettings.from_env(os.environ if env is None else env,
                                             lattice.config.allow_file_load)
        self.fetcher = ActorFetcher(settings)
        self.records = ActorRecords(lattice.metadata)
        self.commands = HostCommands(lattice, self.fetcher, self.records, self._spawn)
        self.auctions = Auctions(self.fetcher, lattice.metadata)
        self.queries = LatticeQueries(lattice, self.fetcher)
        self._subs: list[Subscription] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._prefix = lattice.ctl_subject() + "."

    async def start(self) -> None:
        subject = self.lattice.ctl_subject
        queue = subject()  # the OTP host's queue group for lattice-wide queries
        plan: list[tuple[str, Handler, str]] = [
            (subject("cmd", "*", "*"), self._on_command, ""),
            (subject("get", "*", "inv"), self._on_inventory, ""),
            (subject("auction", "actor"), self._on_actor_auction, ""),
            (subject("auction", "provider"), self._on_provider_auction, ""),
            (subject("registries", "put"), self._on_query, ""),
            (subject("get", "claims"), self._on_query, queue),
            (subject("get", "links"), self._on_query, queue),
            (subject("linkdefs", "put"), self._on_query, queue),
            (subject("linkdefs", "del"), self._on_query, queue),
        ]
        for name, handler, group in plan:
            self._subs.append(await self.lattice.ctl.subscribe(
                name, queue=group, cb=self._in_task(handler)))
        await flushed(self.lattice.ctl)  # serving before the first host says it started

    async def stop(self) -> None:
        # errors here mean the connection is already gone, and the subscriptions with it
        await asyncio.gather(*(sub.unsubscribe() for sub in self._subs), return_exceptions=True)
        self._subs.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- plumbing

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _in_task(self, handler: Handler) -> Callable[[Msg], Coroutine[Any, Any, None]]:
        # each request in its own task: a slow start or update must not hold up the next one
        async def receive(msg: Msg) -> None:
            self._spawn(self._guarded(handler, msg))
        return receive

    async def _guarded(self, handler: Handler, msg: Msg) -> None:
        try:
            await handler(msg)
        except Exception:  # a fault of ours answers this request, it does not stop the service
            log.exception("control interface: serving %s failed", msg.subject)
            await self._reply(msg, refused(f"{msg.subject}: the gateway failed to serve it; "
                                           f"see its log"))

    async def _reply(self, msg: Msg, body: bytes) -> None:
        if not msg.reply:
            return
        try:
            await self.lattice.ctl.publish(msg.reply, body)
        except Exception as exc:  # the caller's inbox may be gone, NATS may be away
            log.warning("control interface: cannot answer %s: %s", msg.subject, exc)

    def _tokens(self, msg: Msg) -> list[str]:
        return msg.subject[len(self._prefix):].split(".")

    def _host(self, host_id: str) -> BoardHost | None:
        for host in self.hosts():
            if host.id == host_id and not host.stopped:
                return host
        return None

    # -- handlers

    async def _on_command(self, msg: Msg) -> None:
        _, host_id, verb = self._tokens(msg)
        host = self._host(host_id)
        if host is not None:
            await self._reply(msg, await self.commands.handle(host, verb, msg.data))

    async def _on_inventory(self, msg: Msg) -> None:
        host = self._host(self._tokens(msg)[1])
        if host is not None:
            await self._reply(msg, reply_json(inventory(host, self.records)))

    async def _on_actor_auction(self, msg: Msg) -> None:
        try:
            bids = await self.auctions.actor_bids(self.hosts(), msg.data)
        except ControlError as exc:
            await self._reply(msg, refused(str(exc)))
            return
        for bid in bids:
            await self._reply(msg, reply_json(bid))

    async def _on_provider_auction(self, msg: Msg) -> None:
        try:
            bids = self.auctions.provider_bids(self.hosts(), msg.data)
        except ControlError as exc:
            await self._reply(msg, refused(str(exc)))
            return
        for bid in bids:
            await self._reply(msg, reply_json(bid))

    async def _on_query(self, msg: Msg) -> None:
        first, second = self._tokens(msg)
        await self._reply(msg, await self.queries.handle((first, second), msg.data))
