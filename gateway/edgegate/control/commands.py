"""`cmd.{host}.*`: start, stop, scale and update actors on a board host; stop the host."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from edgegate.control.inventory import ActorRecords, event_claims
from edgegate.control.requests import ControlError, ack, count, decode, refused, strings, text
from edgegate.devices.session import BoardError
from edgegate.jetstream.entries import MetadataError
from edgegate.providers.hostdata import HostDataError, config_json
from edgegate.providers.native import ProviderStartFailed
from edgegate.registries import ActorFetcher, RegistryError
from edgegate.vhost.install import Installed, install_on_board, remove_from_board
from edgegate.wascap import ClaimsError, SignedModule

if TYPE_CHECKING:
    from edgegate.lattice import Lattice
    from edgegate.vhost.host import BoardHost

log = logging.getLogger(__name__)

# what a failed start or update can meet: each says in one line what was wrong
FAILURES = (RegistryError, ClaimsError, BoardError, ValueError, MetadataError, OSError)

Spawn = Callable[[Coroutine[Any, Any, Any]], Any]


class HostCommands:
    """The commands of one lattice addressed to board hosts."""

    def __init__(self, lattice: Lattice, fetcher: ActorFetcher, records: ActorRecords,
                 spawn: Spawn):
        self.lattice = lattice
        self.fetcher = fetcher
        self.records = records
        self.spawn = spawn
        self.verbs = {"la": self.launch, "sa": self.stop_actor, "scale": self.scale,
                      "upd": self.update, "stop": self.stop_host, "lp": self.launch_provider,
                      "sp": self.halt_provider}

    async def handle(self, host: BoardHost, verb: str, data: bytes) -> bytes:
        serve = self.verbs.get(verb)
        if serve is None:
            return refused(f"cmd.{host.id}.{verb}: unknown command (known: "
                           f"{', '.join(self.verbs)})")
        try:
            return await serve(host, data)
        except ControlError as exc:
            return refused(str(exc))

    # -- la: ack at once, then fetch, verify and install

    async def launch(self, host: BoardHost, data: bytes) -> bytes:
        what = "launch actor (la)"
        request = decode(data, what)
        actor_ref = text(request, "actor_ref", what)
        wanted = count(request, "count", what, default=1, least=1)
        annotations = strings(request, "annotations", what)
        self.spawn(self.start_actor(host, actor_ref, wanted, annotations))
        return ack()

    async def start_actor(self, host: BoardHost, actor_ref: str, wanted: int,
                          annotations: dict[str, str], expect_actor: str | None = None) -> None:
        """`la` after its ack: a failure is published as actor_start_failed, not raised."""
        try:
            await self.launch_actor(host, actor_ref, annotations, wanted, expect_actor)
        except FAILURES:
            return

    async def launch_actor(self, host: BoardHost, actor_ref: str, annotations: dict[str, str],
                           wanted: int = 1, expect_actor: str | None = None,
                           module: bytes | None = None) -> Installed:
        """Fetch `actor_ref` (unless its `module` is given), verify it, install it on the board
        and announce it (refmap_set, actors_started). A failure is published as
        actor_start_failed and raised (one of FAILURES). With `module` given, `actor_ref` may
        be "" (bytes from no reference: no refmap is written)."""
        events = self.lattice.events
        try:
            if module is None:
                module = (await self.fetcher.fetch(actor_ref)).module
            installed = await install_on_board(host, module, "start", expect_actor)
            if actor_ref:
                await self.lattice.metadata.put_refmap(actor_ref, installed.actor)
        except FAILURES as exc:
            error = one_line(exc)
            log.warning("host %s: actor %s not started: %s", host.id, actor_ref or "(bytes)",
                        error)
            await events.publish("actor_start_failed", host.id,
                                 {"actor_ref": actor_ref, "error": error})
            raise
        if wanted > 1:
            log.info("host %s: %s asked for %d instances; a board runs one of each actor",
                     host.id, actor_ref, wanted)
        key = installed.actor
        self.records.remember(host, key, actor_ref, annotations)
        if actor_ref:
            await events.publish("refmap_set", host.id, {"oci_url": actor_ref,
                                                         "public_key": key})
        actor = host.actors.get(key)
        await events.publish("actors_started", host.id, {
            "public_key": key, "image_ref": actor_ref, "annotations": annotations,
            "host_id": host.id, "claims": event_claims(actor) if actor else {}, "count": 1})
        return installed

    # -- sa: the actor leaves the board (and its flash), so it does not come back at reboot

    async def stop_actor(self, host: BoardHost, data: bytes) -> bytes:
        what = "stop actor (sa)"
        request = decode(data, what)
        actor = text(request, "actor_ref", what)
        count(request, "count", what)  # 0 = all; a board runs one instance, so any count stops it
        annotations = strings(request, "annotations", what)
        try:
            await self.remove_actor(host, actor, annotations)
        except ControlError as exc:
            return refused(f"{what}: {exc}")
        return ack()

    async def remove_actor(self, host: BoardHost, actor: str,
                           annotations: dict[str, str] | None = None) -> None:
        """Take a running actor off the board (and its flash) and announce it
        (actors_stopped); ControlError says why not."""
        if actor not in host.actors:
            raise ControlError(f"actor {actor} is not running on host {host.id}")
        try:
            await remove_from_board(host, actor)
        except BoardError as exc:
            raise ControlError(f"actor {actor}: {one_line(exc)}") from None
        self.records.forget(host, actor)
        await self.lattice.events.publish("actors_stopped", host.id, {
            "public_key": actor, "count": 1, "remaining": 0, "annotations": annotations or {},
            "host_id": host.id})

    # -- scale: 0 stops, any other count makes sure the actor runs

    async def scale(self, host: BoardHost, data: bytes) -> bytes:
        what = "scale actor"
        request = decode(data, what)
        actor = text(request, "actor_id", what)
        actor_ref = text(request, "actor_ref", what)
        wanted = count(request, "count", what)
        annotations = strings(request, "annotations", what)
        if wanted == 0 and actor not in host.actors:
            return refused(f"{what}: actor {actor} is not running on host {host.id}")
        if wanted > 1:
            return refused(f"{what}: count {wanted}: a board runs one instance of each actor "
                           f"(1 runs it, 0 stops it)")
        self.spawn(self._scale(host, actor, actor_ref, wanted, annotations))
        return ack()

    async def _scale(self, host: BoardHost, actor: str, actor_ref: str, wanted: int,
                     annotations: dict[str, str]) -> None:
        if wanted == 0:
            try:
                await self.remove_actor(host, actor, annotations)
            except ControlError as exc:
                log.warning("host %s: scaling %s to 0 failed: %s", host.id, actor, exc)
        elif actor not in host.actors:
            await self.start_actor(host, actor_ref, wanted, annotations, expect_actor=actor)

    # -- upd: hot swap on the board; the ack comes when it is done

    async def update(self, host: BoardHost, data: bytes) -> bytes:
        what = "update actor (upd)"
        request = decode(data, what)
        new_ref = text(request, "new_actor_ref", what)
        # the OTP host needs only the new reference: the actor is the module's subject
        actor_id = text(request, "actor_id", what) if "actor_id" in request else None
        annotations = strings(request, "annotations", what)
        try:
            await self.update_actor(host, new_ref, actor_id, annotations)
        except ControlError as exc:
            return refused(f"{what}: {exc}")
        return ack()

    async def update_actor(self, host: BoardHost, new_ref: str, actor_id: str | None = None,
                           annotations: dict[str, str] | None = None,
                           module: bytes | None = None) -> Installed:
        """Hot-swap a running actor for the module of `new_ref` (or `module`); the actor is
        the module's subject unless `actor_id` says which it must be. actor_updated or
        actor_update_failed is published; ControlError says why it was refused."""
        if module is None:
            try:
                module = (await self.fetcher.fetch(new_ref)).module
            except RegistryError as exc:
                raise ControlError(one_line(exc)) from None
        if actor_id is None:
            try:
                actor_id = str(SignedModule(module).claims["sub"])
            except ClaimsError as exc:
                raise ControlError(f"{new_ref}: {one_line(exc)}") from None
        running = host.actors.get(actor_id)
        if running is None:
            raise ControlError(f"actor {actor_id} is not running on host {host.id}")
        try:
            installed = await install_on_board(host, module, "update", actor_id)
            if new_ref:
                await self.lattice.metadata.put_refmap(new_ref, actor_id)
        except FAILURES as exc:
            reason = one_line(exc)
            await self.lattice.events.publish("actor_update_failed", host.id, {
                "public_key": actor_id, "revision": running.revision,
                "instance_id": running.instance_id, "reason": reason})
            raise ControlError(f"actor {actor_id} from {new_ref or 'bytes'}: {reason}") \
                from None
        updated = host.actors[actor_id]
        before = self.records.of(host, actor_id)  # new bytes of no reference keep the old one
        self.records.remember(host, actor_id, new_ref or before.image_ref,
                              annotations or before.annotations)
        await self.lattice.events.publish("actor_updated", host.id, {
            "public_key": actor_id, "revision": updated.revision,
            "instance_id": updated.instance_id})
        return installed

    # -- stop: the host leaves the lattice; its board keeps its actors

    async def stop_host(self, host: BoardHost, data: bytes) -> bytes:
        what = "stop host"
        request = decode(data, what, empty_ok=True)
        if "timeout" in request:
            count(request, "timeout", what)
        self.spawn(host.stop())
        return ack()

    # -- lp / sp: native providers run on the gateway's machine for the board's host

    async def launch_provider(self, host: BoardHost, data: bytes) -> bytes:
        what = "launch provider (lp)"
        request = decode(data, what)
        provider_ref = text(request, "provider_ref", what)
        link_name = text(request, "link_name", what, default="default")
        annotations = strings(request, "annotations", what)
        try:
            configuration = config_json(request.get("configuration"))
        except HostDataError as exc:
            return refused(f"{what}: {exc}")
        if host.providers.runs_ref(provider_ref, link_name):
            return refused(f"{what}: {provider_ref} with link name {link_name!r} already runs "
                           f"on host {host.id}")
        self.spawn(self._start_in_background(host, provider_ref, link_name, annotations,
                                             configuration))
        return ack()

    async def _start_in_background(self, host: BoardHost, provider_ref: str, link_name: str,
                                   annotations: dict[str, str], configuration: str | None
                                   ) -> None:
        try:
            await self.start_provider(host, provider_ref, link_name, annotations, configuration)
        except ControlError:
            pass  # said on the lattice (provider_start_failed) and in the log

    async def halt_provider(self, host: BoardHost, data: bytes) -> bytes:
        what = "stop provider (sp)"
        request = decode(data, what)
        key = text(request, "provider_ref", what)
        link_name = text(request, "link_name", what, default="default")
        if host.providers.find(key, link_name) is None:
            return refused(f"{what}: provider {key} with link name {link_name!r} does not run "
                           f"on host {host.id}")
        self.spawn(self.stop_provider(host, key, link_name))
        return ack()

    async def start_provider(self, host: BoardHost, provider_ref: str, link_name: str,
                             annotations: dict[str, str] | None = None,
                             configuration: str | None = None,
                             fetcher: ActorFetcher | None = None) -> str:
        """Start a capability provider on `host` and wait until it runs; its public key.
        ControlError says why not (after provider_start_failed on the lattice). `fetcher`
        replaces the control interface's own (the Host API reads its caller's files)."""
        if host.providers.runs_ref(provider_ref, link_name):
            raise ControlError(f"{provider_ref} with link name {link_name!r} already runs on "
                               f"host {host.id}")
        try:
            provider = await host.providers.start_provider(fetcher or self.fetcher,
                                                           provider_ref, link_name,
                                                           configuration, annotations)
        except ProviderStartFailed as exc:
            raise ControlError(str(exc)) from None
        return provider.key

    async def stop_provider(self, host: BoardHost, key: str, link_name: str) -> None:
        """Stop a capability provider of `host` (by its public key); ControlError if it does
        not run there."""
        if not await host.providers.stop_provider(key, link_name):
            raise ControlError(f"provider {key} with link name {link_name!r} does not run on "
                               f"host {host.id}")


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
