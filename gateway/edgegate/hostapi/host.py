"""`edgegate.Host`: one board host driven from a Python program, with or without a lattice.

With `nats_url` the board is a host on that lattice, served by a gateway in this process, and
every operation takes the path the control interface takes (`edgegate.control`). Without it
the board is reached directly and its own dispatch serves calls between its actors and to its
builtins; a host call that would need the lattice fails in the actor with a clear error, and
the operations that need a lattice (links, providers) raise LatticeRequired.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from edgegate.boardclient import BoardClient, BoardKey, parse_tcp_address
from edgegate.config import ConfigError, LatticeConfig, host_labels
from edgegate.control import ControlInterface
from edgegate.control.commands import FAILURES
from edgegate.control.requests import ControlError
from edgegate.devices.registry import BoardEntry
from edgegate.devices.session import BoardError, BoardRefused
from edgegate.devices.simprocess import SimError, SimProcess
from edgegate.gateway import Gateway, GatewayError
from edgegate.hostapi.errors import (
    ActorError,
    BoardUnreachable,
    CallFailed,
    HostError,
    HostNotStarted,
    LatticeRequired,
    LinkError,
    ProviderError,
)
from edgegate.hostapi.localboard import LocalBoard
from edgegate.hostapi.target import HostTarget, provider_reference
from edgegate.jetstream.entries import LinkDefinition, MetadataError
from edgegate.manifests import HostManifest, Outcome, apply, load_manifest, parse_manifest
from edgegate.registries import ActorFetcher, OciReference, RegistryError, RegistrySettings
from edgegate.registries.references import ReferenceError as NotAReference
from edgegate.rpc.router import is_actor_key
from edgegate.rpc.sending import NoAnswer, NoResponder, Refused, SendError, call_actor
from edgegate.vhost.host import BoardHost
from edgegate.vhost.install import Installed
from edgegate.vhost.labels import board_labels
from edgegate.wascap import KeyPair

ActorSource = bytes | str | os.PathLike[str]
SIM_BOARD_ID = "sim"


class Host:
    """One board host. Use `async with Host(...) as host:` or `start()` and `stop()`.

    Where the board is: `port` (a serial device or pyserial URL) or `tcp` ("HOST:PORT"), each
    with `key_file` (the board's id and pairing key); with neither, a simulated board is
    started for the host (its key and flash in `state_dir`, a temporary folder by default).
    `nats_url` joins that lattice (prefix `lattice`, else WASMCLOUD_LATTICE_PREFIX); `labels`
    and `friendly_name` describe the host there. `env` stands for the environment
    (`WASMCLOUD_*`, `HOST_*`, and `${VAR}` in manifests); `timeout` is how long the board and
    each call may take, in seconds.
    """

    def __init__(self, *, port: str | None = None, tcp: str | None = None,
                 key_file: str | os.PathLike[str] | None = None, nats_url: str | None = None,
                 lattice: str | None = None, labels: Mapping[str, str] | None = None,
                 friendly_name: str = "", state_dir: str | os.PathLike[str] | None = None,
                 timeout: float = 10.0, env: Mapping[str, str] | None = None):
        self.port, self.tcp = port, tcp
        self.key_file = Path(key_file) if key_file is not None else None
        self.nats_url = nats_url
        self.lattice = lattice
        self.friendly_name = friendly_name
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.timeout = timeout
        self.env: dict[str, str] = dict(os.environ if env is None else env)
        self._labels = dict(labels or {})
        self._gateway: Gateway | None = None
        self._owns_gateway = True
        self._board_id = ""
        self._local: LocalBoard | None = None
        self._local_id = ""
        self._local_fetcher: ActorFetcher | None = None
        self._refs: dict[str, str] = {}  # without a lattice: reference → actor it started
        self._sim: Any = None  # the simulated board's process, when we started one
        self._scratch: tempfile.TemporaryDirectory[str] | None = None

    @classmethod
    def serving(cls, gateway: Gateway, board_id: str) -> Host:
        """The host of `board_id` on a running gateway (as `edgehost up` has); `stop()` leaves
        the gateway running."""
        host = cls(nats_url=gateway.config.rpc_url)
        host._gateway, host._owns_gateway, host._board_id = gateway, False, board_id
        return host

    # -- life cycle

    async def __aenter__(self) -> Host:
        return await self.start()

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        trace: TracebackType | None) -> None:
        await self.stop()

    async def start(self) -> Host:
        """Reach (or start) the board and, with a lattice, put its host on it."""
        if self.started:
            return self
        try:
            entry = self._board_entry()
            self._board_id = entry.board_id
            if self.nats_url is None:
                await self._start_local(entry)
            else:
                await self._start_on_lattice(entry)
        except BaseException:
            await self.stop()
            raise
        return self

    async def stop(self) -> None:
        """Stop the host (host_stopped on the lattice) and the simulated board, if any. The
        board keeps its actors on flash."""
        if self._gateway is not None and self._owns_gateway:
            await self._gateway.stop()
        self._gateway = None
        if self._local is not None:
            await self._local.client.close()
            self._local = None
        if self._sim is not None:
            self._sim.stop()
            self._sim = None
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    @property
    def started(self) -> bool:
        return self._gateway is not None or self._local is not None

    @property
    def id(self) -> str:
        """The host's public key (N…), made afresh each time the host starts."""
        if self._local is not None:
            return self._local_id
        return self._board_host().id

    @property
    def board_id(self) -> str:
        return self._board_id

    @property
    def on_lattice(self) -> bool:
        return self._gateway is not None

    # -- actors

    async def start_actor(self, source: ActorSource,
                          annotations: Mapping[str, str] | None = None) -> str:
        """Start an actor from its signed module's bytes, a file path, or an OCI reference;
        its public key. The claims are verified fully first. ActorError says why not."""
        return (await self._start_actor(source, annotations)).actor

    async def stop_actor(self, actor: str) -> None:
        """Stop an actor (its key, call alias, name or the reference it was started from); it
        leaves the board's flash too. ActorError when it does not run here."""
        key = await self._running(actor)
        if self._local is not None:
            try:
                await self._local.remove(key)
            except BoardError as exc:
                raise ActorError(f"actor {key}: {_one_line(exc)}") from None
            self._refs = {ref: k for ref, k in self._refs.items() if k != key}
            return
        try:
            await self._control().commands.remove_actor(self._board_host(), key)
        except ControlError as exc:
            raise ActorError(str(exc)) from None

    async def update_actor(self, actor: str, source: ActorSource) -> None:
        """Hot-swap a running actor for a new module of the same actor (bytes, path or
        reference); calls wait while the board swaps. ActorError says why not."""
        key = await self._running(actor)
        module, ref = await self._module(source)
        if self._local is not None:
            try:
                await self._local.install(module, "update", key)
            except FAILURES as exc:
                raise ActorError(f"actor {key} from {ref or 'bytes'}: {_one_line(exc)}") \
                    from None
            if ref:
                self._refs[ref] = key
            return
        try:
            await self._control().commands.update_actor(self._board_host(), ref, key,
                                                        module=module)
        except ControlError as exc:
            raise ActorError(str(exc)) from None

    async def actors(self) -> list[str]:
        """The public keys of the actors running on this host."""
        if self._local is not None:
            return sorted(self._local.client.actors)
        return sorted(self._board_host().actors)

    async def call_actor(self, actor: str, operation: str, payload: bytes = b"") -> bytes:
        """Invoke an actor (its key or call alias; without a lattice also its name) and return
        its answer. On a lattice the call is a signed invocation, so it reaches an actor on
        any host. CallFailed says why there is no answer."""
        if self._local is not None:
            client = self._local.client
            try:
                return await client.call(client.resolve(actor), operation, payload)
            except BoardRefused as exc:
                raise CallFailed(f"{actor} {operation}: {exc.message}") from None
            except BoardError as exc:
                raise CallFailed(f"{actor} {operation}: {_one_line(exc)}") from None
        host = self._board_host()
        lattice = host.lattice
        key = self._key_of(actor) or lattice.metadata.actor_for_alias(actor)
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

    # -- providers and links (a lattice's business)

    async def start_provider(self, source: str | Path, link_name: str = "default") -> str:
        """Start a capability provider for this host, on the gateway's machine, from a provider
        archive: an OCI reference, or a path (or file:// URL) of this program's own, read
        whatever WASMCLOUD_ALLOW_FILE_LOAD says, since the caller owns the file. Returns the
        provider's public key once it runs; ProviderError says why not, with the reason the
        control interface's `lp` gives."""
        control = self._lattice_only("start_provider")
        ref, fetcher = provider_reference(source), None
        if ref.startswith("file://"):
            fetcher = ActorFetcher(replace(control.fetcher.settings, allow_file_load=True))
        try:
            return await control.commands.start_provider(self._board_host(), ref, link_name,
                                                         fetcher=fetcher)
        except ControlError as exc:
            raise ProviderError(f"provider {ref}: {exc}") from None

    async def providers(self) -> list[dict[str, Any]]:
        """The capability providers this host runs on the gateway's machine, as the control
        interface's inventory lists them (`id`, `image_ref`, `contract_id`, `link_name`, …);
        the board's own contracts are not among them."""
        return self._board_host().providers.inventory() if self._local is None else []

    async def stop_provider(self, provider_key: str, link_name: str = "default") -> None:
        """Stop a capability provider of this host by its public key; ProviderError says why
        not (`sp`)."""
        control = self._lattice_only("stop_provider")
        try:
            await control.commands.stop_provider(self._board_host(), provider_key, link_name)
        except ControlError as exc:
            raise ProviderError(f"provider {provider_key}: {exc}") from None

    async def set_link(self, actor: str, contract_id: str, provider_id: str,
                       link_name: str = "default",
                       values: Mapping[str, str] | None = None) -> None:
        """Put a link definition (actor to provider, for one contract) on the lattice."""
        queries = self._lattice_only("set_link").queries
        key = self._key_of(actor) or actor
        try:
            await queries.set_link(LinkDefinition(actor_id=key, provider_id=provider_id,
                                                  contract_id=contract_id, link_name=link_name,
                                                  values=dict(values or {})))
        except MetadataError as exc:
            raise LinkError(f"link {key} -> {provider_id}: {exc}") from None

    async def remove_link(self, actor: str, contract_id: str, link_name: str = "default") -> None:
        """Delete a link definition from the lattice; LinkError when there is none."""
        queries = self._lattice_only("remove_link").queries
        try:
            await queries.remove_link(self._key_of(actor) or actor, contract_id, link_name)
        except (ControlError, MetadataError) as exc:
            raise LinkError(str(exc)) from None

    async def links(self) -> list[dict[str, Any]]:
        """The lattice's link definitions (as `get links` shows them)."""
        self._lattice_only("links")
        return [ld.to_dict() for ld in self._board_host().lattice.metadata.links.values()]

    # -- what the host knows

    async def claims(self) -> dict[str, dict[str, Any]]:
        """The verified claims of each actor on this host, by actor key."""
        if self._local is not None:
            try:
                return await self._local.claims()
            except BoardError as exc:
                raise HostError(str(exc)) from None
        return {key: actor.claims for key, actor in self._board_host().actors.items()}

    async def labels(self) -> dict[str, str]:
        """The host's labels: the board's arch and OS, its id and profile, HOST_*, and those
        given to the host (or by a manifest)."""
        if self._local is not None:
            return board_labels(self._board_id, self._local.client.hello, self._labels,
                                host_labels(self.env))
        return dict(self._board_host().labels)

    async def oci_refs(self) -> dict[str, str]:
        """The references this host's actors were started from: {reference: actor key}."""
        if self._local is not None:
            return dict(self._refs)
        return self._refs_on_lattice(self._board_host())

    # -- manifests

    async def apply_manifest(self, manifest: str | os.PathLike[str] | Mapping[str, Any]
                             | HostManifest) -> list[Outcome]:
        """Bring the host to what a manifest declares (a YAML or JSON file, its content as a
        dict, whose relative paths are the current folder's, or one read with
        `edgegate.manifests.load_manifest`); each entry's outcome.
        ManifestError, before anything changes, for a manifest that breaks a rule."""
        if isinstance(manifest, HostManifest):
            checked = manifest
        elif isinstance(manifest, Mapping):
            checked = parse_manifest(dict(manifest), self.env, Path.cwd())
        else:
            checked = load_manifest(Path(manifest), self.env)
        self._ready()
        return await apply(checked, HostTarget(self))

    # -- inside

    def _board_entry(self) -> BoardEntry:
        labels, name = self._labels, self.friendly_name
        if self.port and self.tcp:
            raise HostError("give the board's port or its tcp address, not both")
        if self.port or self.tcp:
            if self.key_file is None:
                raise HostError("a real board needs key_file: the board id and pairing key it "
                                "was provisioned with")
            try:
                key = BoardKey.load(self.key_file)
                if self.tcp:
                    parse_tcp_address(self.tcp)
            except (BoardError, ValueError) as exc:
                raise HostError(str(exc)) from None
            how, address = ("port", self.port) if self.port else ("tcp", self.tcp)
            return BoardEntry(key.board_id, key.pairing_key, how, str(address), labels=labels,
                              friendly_name=name)
        return self._simulated_board()

    def _simulated_board(self) -> BoardEntry:
        if self.state_dir is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="edgehost-host-")
            state = Path(self._scratch.name)
        else:
            state = self.state_dir
            state.mkdir(parents=True, exist_ok=True)
        key_file = state / "board.key"
        try:
            key = (BoardKey.load(key_file) if key_file.exists()
                   else BoardKey.create(key_file, SIM_BOARD_ID))
            self._sim = SimProcess(["--tcp", "127.0.0.1:0", "--key-file", str(key_file),
                                    "--flash-dir", str(state / "flash")], state / "sim.log",
                                   max(self.timeout, 15.0))
        except (BoardError, SimError, OSError) as exc:
            raise BoardUnreachable(f"the simulated board did not start: {exc}") from None
        return BoardEntry(key.board_id, key.pairing_key, "tcp",
                          self._sim.where.removeprefix("tcp://"),
                          labels=self._labels, friendly_name=self.friendly_name or
                          "simulated board")

    async def _start_local(self, entry: BoardEntry) -> None:
        key = BoardKey(entry.board_id, entry.pairing_key)
        try:
            if entry.how == "port":
                client = await BoardClient.connect_serial(entry.address, key, entry.baud,
                                                          self.timeout)
            else:
                host, port = entry.tcp_address
                client = await BoardClient.connect_tcp(host, port, key, self.timeout)
        except BoardError as exc:
            raise BoardUnreachable(str(exc)) from None
        self._local_id = KeyPair.generate("server").public_key
        self._local = LocalBoard(client, self._local_id)
        settings = RegistrySettings.from_env(self.env, allow_file_load=True)
        self._local_fetcher = ActorFetcher(settings)

    async def _start_on_lattice(self, entry: BoardEntry) -> None:
        try:
            config = LatticeConfig.from_env(self.env, nats_url=self.nats_url)
        except ConfigError as exc:
            raise HostError(str(exc)) from None
        if self.lattice:
            config.lattice = self.lattice
        self._gateway = Gateway(config, [entry], self.env)
        try:
            await self._gateway.start()
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
        host = self._gateway.hosts.get(self._board_id) if self._gateway else None
        return host is not None and host.ready

    def _ready(self) -> None:
        if not self.started:
            raise HostNotStarted("the host is not started: use `async with Host(...)` or "
                                 "await host.start()")

    def _board_host(self) -> BoardHost:
        self._ready()
        assert self._gateway is not None
        host = self._gateway.hosts.get(self._board_id)
        if host is None or host.stopped:
            raise BoardUnreachable(f"board {self._board_id} is not connected, so its host is "
                                   f"not on the lattice")
        return host

    def _control(self) -> ControlInterface:
        self._ready()
        assert self._gateway is not None and self._gateway.control is not None
        return self._gateway.control

    def _lattice_only(self, what: str) -> ControlInterface:
        self._ready()
        if self._local is not None:
            raise LatticeRequired(f"{what}: this host has no lattice; give it a nats_url")
        return self._control()

    @property
    def _fetcher(self) -> ActorFetcher:
        if self._local_fetcher is not None:
            return self._local_fetcher
        return self._control().fetcher

    def _source(self, source: ActorSource) -> tuple[bytes | None, str]:
        """A module's bytes (None for an OCI reference, to be fetched) and the reference it
        came by ("" for bytes, file://… for a file)."""
        if isinstance(source, bytes | bytearray | memoryview):
            return bytes(source), ""
        text = os.fspath(source)
        path = Path(text.removeprefix("file://"))
        if not isinstance(source, str) or text.startswith("file://") or path.is_file():
            try:
                return path.read_bytes(), path.resolve().as_uri()
            except OSError as exc:
                raise ActorError(f"{text}: cannot read it ({exc.strerror})") from None
        try:
            OciReference.parse(text)
        except NotAReference as exc:
            raise ActorError(f"{text}: no such file, and not an OCI reference ({exc})") \
                from None
        return None, text

    async def _module(self, source: ActorSource) -> tuple[bytes, str]:
        module, ref = self._source(source)
        if module is not None:
            return module, ref
        try:
            return (await self._fetcher.fetch(ref)).module, ref
        except RegistryError as exc:
            raise ActorError(_one_line(exc)) from None

    async def _start_actor(self, source: ActorSource,
                           annotations: Mapping[str, str] | None = None) -> Installed:
        self._ready()
        if self._local is not None:
            module, ref = await self._module(source)
            try:
                installed = await self._local.install(module, "start")
            except FAILURES as exc:
                raise ActorError(f"actor {ref or 'from bytes'} not started: "
                                 f"{_one_line(exc)}") from None
            if ref:
                self._refs[ref] = installed.actor
            return installed
        module, ref = self._source(source)  # a reference is fetched as `la` fetches it
        try:
            return await self._control().commands.launch_actor(
                self._board_host(), ref, dict(annotations or {}), module=module)
        except FAILURES as exc:
            raise ActorError(f"actor {ref or 'from bytes'} not started: {_one_line(exc)}") \
                from None

    def _key_of(self, actor: str) -> str | None:
        """The key of an actor of this host named by key, alias, name or reference."""
        if self._local is not None:
            found = self._local.client.resolve(actor)
            if found in self._local.client.actors:
                return found
            return self._refs.get(actor)
        host = self._board_host()
        if actor in host.actors or is_actor_key(actor):
            return actor
        for field in ("alias", "name"):
            named = [key for key, running in host.actors.items()
                     if getattr(running, field) == actor]
            if len(named) == 1:
                return named[0]
        return self._refs_on_lattice(host).get(actor)

    def _refs_on_lattice(self, host: BoardHost) -> dict[str, str]:
        records = self._control().records
        refs = {key: records.of(host, key).image_ref for key in host.actors}
        return {ref: key for key, ref in refs.items() if ref}

    async def _running(self, actor: str) -> str:
        self._ready()
        key = self._key_of(actor)
        if key is None or key not in await self.actors():
            raise ActorError(f"actor {actor} is not running on host {self.id}")
        return key


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
