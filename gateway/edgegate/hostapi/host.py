"""`edgegate.Host`: one board host driven from a Python program, with or without a lattice.

The Host finds (or starts) the board and keeps the public API; what each operation does is
its mode's: `LatticeHost` (with `nats_url`: a gateway in this process, every operation as
the control interface does it) or `LocalHost` (the board reached directly, its own dispatch
serving calls; links and providers raise LatticeRequired).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from edgegate.config import ConfigError, LatticeConfig, keys_dir
from edgegate.devices.boardkey import BoardKey
from edgegate.devices.registry import BoardEntry
from edgegate.devices.session import BoardError
from edgegate.devices.simprocess import SimError, SimProcess
from edgegate.devices.transports import parse_tcp_address
from edgegate.gateway import Gateway
from edgegate.hostapi.errors import ActorError, BoardUnreachable, HostError, HostNotStarted
from edgegate.hostapi.lattice import LatticeHost
from edgegate.hostapi.local import LocalHost
from edgegate.hostapi.sources import ActorSource
from edgegate.hostapi.target import HostTarget
from edgegate.manifests import HostManifest, Outcome, apply, load_manifest, parse_manifest

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
        self._board_id = ""
        self._mode: LocalHost | LatticeHost | None = None
        self._sim: SimProcess | None = None  # the simulated board, when we started one
        self._scratch: tempfile.TemporaryDirectory[str] | None = None

    @classmethod
    def serving(cls, gateway: Gateway, board_id: str) -> Host:
        """The host of `board_id` on a running gateway (as `edgehost up` has); `stop()` leaves
        the gateway running."""
        host = cls(nats_url=gateway.config.rpc_url)
        host._board_id = board_id
        host._mode = LatticeHost(gateway, board_id, host.timeout, owns_gateway=False)
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
                self._mode = await LocalHost.connect(entry, self.timeout, self.env)
            else:
                self._mode = await LatticeHost.start(self._lattice_config(), entry, self.env,
                                                     self.timeout)
        except BaseException:
            await self.stop()
            raise
        return self

    async def stop(self) -> None:
        """Stop the host (host_stopped on the lattice) and the simulated board, if any. The
        board keeps its actors on flash."""
        if self._mode is not None:
            await self._mode.close()
            self._mode = None
        if self._sim is not None:
            self._sim.stop()
            self._sim = None
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    @property
    def started(self) -> bool:
        return self._mode is not None

    @property
    def id(self) -> str:
        """The host's public key (N…), made afresh each time the host starts."""
        return self._on().id

    @property
    def board_id(self) -> str:
        return self._board_id

    @property
    def on_lattice(self) -> bool:
        return self._mode is not None and self._mode.on_lattice

    # -- actors

    async def start_actor(self, source: ActorSource,
                          annotations: Mapping[str, str] | None = None) -> str:
        """Start an actor from its signed module's bytes, a file path, or an OCI reference;
        its public key. The claims are verified fully first. ActorError says why not."""
        return await self._on().start_actor(source, annotations or {})

    async def stop_actor(self, actor: str) -> None:
        """Stop an actor (its key, call alias, name or the reference it was started from); it
        leaves the board's flash too. ActorError when it does not run here."""
        await self._on().stop_actor(await self._running(actor))

    async def update_actor(self, actor: str, source: ActorSource) -> None:
        """Hot-swap a running actor for a new module of the same actor (bytes, path or
        reference); calls wait while the board swaps. ActorError says why not."""
        await self._on().update_actor(await self._running(actor), source)

    async def actors(self) -> list[str]:
        """The public keys of the actors running on this host."""
        return await self._on().actors()

    async def call_actor(self, actor: str, operation: str, payload: bytes = b"") -> bytes:
        """Invoke an actor (its key or call alias; without a lattice also its name) and return
        its answer. On a lattice the call is a signed invocation, so it reaches an actor on
        any host. CallFailed says why there is no answer."""
        return await self._on().call_actor(actor, operation, payload)

    # -- providers and links (a lattice's business)

    async def start_provider(self, source: str | Path, link_name: str = "default") -> str:
        """Start a capability provider for this host, on the gateway's machine, from a provider
        archive: an OCI reference, or a path (or file:// URL) of this program's own, read
        whatever WASMCLOUD_ALLOW_FILE_LOAD says, since the caller owns the file. Returns the
        provider's public key once it runs; ProviderError says why not, with the reason the
        control interface's `lp` gives."""
        return await self._on().start_provider(source, link_name)

    async def providers(self) -> list[dict[str, Any]]:
        """The capability providers this host runs on the gateway's machine, as the control
        interface's inventory lists them (`id`, `image_ref`, `contract_id`, `link_name`, …);
        the board's own contracts are not among them."""
        return await self._on().providers()

    async def stop_provider(self, provider_key: str, link_name: str = "default") -> None:
        """Stop a capability provider of this host by its public key; ProviderError says why
        not (`sp`)."""
        await self._on().stop_provider(provider_key, link_name)

    async def set_link(self, actor: str, contract_id: str, provider_id: str,
                       link_name: str = "default",
                       values: Mapping[str, str] | None = None) -> None:
        """Put a link definition (actor to provider, for one contract) on the lattice."""
        await self._on().set_link(actor, contract_id, provider_id, link_name, values)

    async def remove_link(self, actor: str, contract_id: str, link_name: str = "default") -> None:
        """Delete a link definition from the lattice; LinkError when there is none."""
        await self._on().remove_link(actor, contract_id, link_name)

    async def links(self) -> list[dict[str, Any]]:
        """The lattice's link definitions (as `get links` shows them)."""
        return await self._on().links()

    # -- what the host knows

    async def claims(self) -> dict[str, dict[str, Any]]:
        """The verified claims of each actor on this host, by actor key."""
        return await self._on().claims()

    async def labels(self) -> dict[str, str]:
        """The host's labels: the board's arch and OS, its id and profile, HOST_*, and those
        given to the host (or by a manifest)."""
        return await self._on().labels()

    async def add_labels(self, labels: Mapping[str, str]) -> None:
        """Add labels to the host (or change them); on a lattice, a heartbeat tells it now."""
        await self._on().add_labels(labels)

    async def oci_refs(self) -> dict[str, str]:
        """The references this host's actors were started from: {reference: actor key}."""
        return await self._on().oci_refs()

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
        self._on()
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

    def _lattice_config(self) -> LatticeConfig:
        try:
            # the machine's cluster seed, as the gateway and `up` read it
            config = LatticeConfig.from_env(self.env, nats_url=self.nats_url,
                                            keys_dir=keys_dir(self.env))
        except ConfigError as exc:
            raise HostError(str(exc)) from None
        if self.lattice:
            config.lattice = self.lattice
        return config

    def _on(self) -> LocalHost | LatticeHost:
        if self._mode is None:
            raise HostNotStarted("the host is not started: use `async with Host(...)` or "
                                 "await host.start()")
        return self._mode

    async def _running(self, actor: str) -> str:
        mode = self._on()
        key = mode.key_of(actor)
        if key is None or key not in await mode.actors():
            raise ActorError(f"actor {actor} is not running on host {mode.id}")
        return key
