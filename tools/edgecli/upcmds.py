"""`edgehost up`: a lattice, a gateway and a board with the demo actor, on this machine."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import IO

from rich.console import Console, RenderableType
from rich.live import Live

from edgecli import actorbuild
from edgecli.ctlapply import show_outcomes
from edgecli.folderlock import FolderInUse, lock_folder
from edgecli.latticeoptions import lattice_config
from edgecli.output import fail
from edgecli.signing import signing_account, stored_key
from edgecli.statedir import state_dir
from edgecli.stopsignals import StopSignals
from edgecli.upview import CallCounts, live_hints, status_view
from edgegate.config import ConfigError, LatticeConfig
from edgegate.devices.boardkey import BoardKey
from edgegate.devices.registry import BoardEntry, RegistryError, load_registry
from edgegate.devices.session import BoardError
from edgegate.devices.simprocess import SimError, SimProcess
from edgegate.devices.transports import parse_tcp_address
from edgegate.gateway import Gateway, GatewayError
from edgegate.hostapi import Host, HostError
from edgegate.manifests import HostManifest, ManifestError, load_manifest
from edgegate.natsserver import EmbeddedNatsServer, NatsServerError
from edgegate.vhost.install import install_on_board
from edgegate.wascap import ActorMetadata, ClaimsError, SignedModule, sign_module

DEFAULT_NATS_PORT = 4222
DEMO_ACTOR = "greeter"
DEMO_CAPS = ["wasmcloud:builtin:numbergen", "wasmcloud:builtin:logging"]
BOARD_WAIT_SECONDS = 20.0
STATUS_SECONDS = 1.0


GATEWAY_LOG = "gateway.log"
SIM_LOG = "sim.log"


def keep_previous(log: Path) -> None:
    """The last run's log moves to LOG.1 (the one before it goes), so a restart after a
    failure still has the failure's log to read."""
    if log.exists():
        log.replace(log.with_name(log.name + ".1"))


class _Terminal(logging.Handler):
    """Warnings on whatever stderr is when they come: the live view prints them above itself."""

    def emit(self, record: logging.LogRecord) -> None:
        print(self.format(record), file=sys.stderr, flush=True)


def log_gateway(state: Path) -> logging.Handler:
    """The gateway's log in STATE/gateway.log, from INFO up; warnings on the terminal too
    (unless --verbose logs everything there already). The file's handler, to close at the end."""
    state.mkdir(parents=True, exist_ok=True)
    keep_previous(state / GATEWAY_LOG)
    handler = logging.FileHandler(state / GATEWAY_LOG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("edgegate")
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    if not logging.getLogger().handlers:
        terminal = _Terminal(logging.WARNING)
        terminal.setFormatter(logging.Formatter("edgehost: %(message)s"))
        logger.addHandler(terminal)
    return handler


class UpError(Exception):
    """What stopped `edgehost up` from coming up; one line with what to do."""


STATE_LOCK = ".edgehost-up.lock"
STATE_CHOICE = "--state-dir DIR (or EDGEHOST_STATE_DIR)"


def command_name() -> str:
    """How the user reaches this `edgehost`: its name when PATH finds it, else its path."""
    here = Path(sys.executable).parent / "edgehost"
    found = shutil.which("edgehost")
    if found and Path(found).resolve() == here.resolve():
        return "edgehost"
    try:
        return str(here.relative_to(Path.cwd()))
    except ValueError:
        return str(here)


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        # as nats-server binds: a port whose last connections linger in TIME_WAIT is free
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Up:
    """Everything `edgehost up` started, stopped in the reverse order."""

    def __init__(self, args: argparse.Namespace, config: LatticeConfig, state: Path):
        self.args = args
        self.config = config
        self.state = state
        self.nats: EmbeddedNatsServer | None = None
        self.sim: SimProcess | None = None
        self.gateway: Gateway | None = None
        self.key_file: Path | None = None
        self.demo_key = ""
        self.manifest: HostManifest | None = None
        self._state_lock: IO[str] | None = None
        self.calls = CallCounts()

    # -- coming up

    def lock_state(self) -> None:
        """One `up` per state folder: its NATS data, board key and simulated flash."""
        try:
            self._state_lock = lock_folder(self.state, STATE_LOCK)
        except FolderInUse as exc:
            raise UpError(f"the state folder {self.state} is in use by another edgehost up "
                          f"(pid {exc.holder}): stop that one, or give this one its own "
                          f"with {STATE_CHOICE}") from None
        except OSError as exc:
            raise UpError(f"the state folder {self.state} cannot be used ({exc.strerror}): "
                          f"choose another with {STATE_CHOICE}") from None

    def start_nats(self) -> None:
        if self.args.nats:
            return  # joining an existing lattice: config already points at it
        port = self.args.nats_port
        if not _port_free(port):
            raise UpError(f"port {port} is in use (another nats-server?): join it with --nats "
                          f"nats://127.0.0.1:{port}, or start one of our own with --nats-port N "
                          f"and {STATE_CHOICE}")
        try:
            self.nats = EmbeddedNatsServer(self.state / "nats", port=port,
                                           ends_with_us=True).start()
        except NatsServerError as exc:
            raise UpError(f"the embedded nats-server did not start: {exc}; its log is "
                          f"{self.state / 'nats' / 'nats-server.log'}") from None
        self.config.rpc_url = self.config.ctl_url = self.nats.url

    def boards(self) -> list[BoardEntry]:
        args = self.args
        runtime = getattr(args, "board_runtime", "cpython")
        if runtime != "cpython" and (args.boards or args.port or args.tcp):
            raise UpError(f"--board-runtime {runtime} is for the simulated board; a real board "
                          f"(--port, --tcp, --boards) runs the firmware it was flashed with")
        if args.boards:
            return load_registry(Path(args.boards))
        if args.port or args.tcp:
            self.key_file = Path(args.key_file) if args.key_file else None
            if self.key_file is None:
                raise UpError("a real board needs its key file: give --key-file FILE (the "
                              "board id and pairing key it was provisioned with)")
            key = BoardKey.load(self.key_file)
            how, address = ("port", args.port) if args.port else ("tcp", args.tcp)
            if how == "tcp":
                parse_tcp_address(address)
            return [BoardEntry(key.board_id, key.pairing_key, how, address, baud=args.baud,
                               native_key=key.native_key)]
        return [self._simulated_board()]

    def _simulated_board(self) -> BoardEntry:
        self.state.mkdir(parents=True, exist_ok=True)
        self.key_file = self.state / "board.key"
        key = (BoardKey.load(self.key_file) if self.key_file.exists()
               else BoardKey.create(self.key_file, "sim"))
        runtime = getattr(self.args, "board_runtime", "cpython")
        native = getattr(self.args, "native_code", False)
        if native and runtime != "micropython":
            raise UpError("--native-code needs --board-runtime micropython: only the board's "
                          "MicroPython loads native code")
        if native and key.native_key is None:
            key.with_native_key(self.key_file)
        keep_previous(self.state / SIM_LOG)
        try:
            self.sim = SimProcess(["--tcp", "127.0.0.1:0", "--key-file", str(self.key_file),
                                   "--flash-dir", str(self.state / "flash"),
                                   *([] if runtime == "cpython" else ["--" + runtime]),
                                   *(["--native-code"] if native else [])],
                                  self.state / SIM_LOG)
        except SimError as exc:
            raise UpError(f"the simulated board did not start: {exc}") from None
        return BoardEntry(key.board_id, key.pairing_key, "tcp",
                          self.sim.where.removeprefix("tcp://"), friendly_name="simulated board",
                          native_key=key.native_key if native else None)

    async def start_gateway(self, boards: list[BoardEntry]) -> None:
        from edgecli import aottranslator  # the ahead-of-time tier's, for boards that opt in

        self.gateway = Gateway(self.config, boards, translator=aottranslator.translate)
        await self.gateway.start()
        deadline = time.monotonic() + BOARD_WAIT_SECONDS
        while not all(self._served(b.board_id) for b in boards):
            if time.monotonic() > deadline:
                missing = [b for b in boards if not self._served(b.board_id)]
                where = ", ".join(f"{b.board_id} at {b.address}" for b in missing)
                raise UpError(f"no answer from board {where} within {BOARD_WAIT_SECONDS:g} s: "
                              f"check that it is powered and connected, and that --key-file "
                              f"is its key")
            await asyncio.sleep(0.1)

    def _served(self, board_id: str) -> bool:
        host = self.gateway.hosts.get(board_id) if self.gateway else None
        return host is not None and host.ready

    async def start_demo(self) -> None:
        """The greeter, signed with the development keys (the same actor key every run)."""
        source = actorbuild.SOURCES / f"{DEMO_ACTOR}.c"
        try:
            module = actorbuild.build_actor(source).read_bytes()
        except actorbuild.ActorBuildError as exc:
            raise UpError(f"the demo actor did not build: {exc}") from None
        signed = self._signed_demo(module)
        self.demo_key = SignedModule(signed).claims["sub"]
        for host in self.gateway.hosts.values():
            try:
                # a board that kept it on flash from the last run is not sent it again
                await install_on_board(host, signed)
            except (BoardError, ClaimsError, ValueError) as exc:
                raise UpError(f"board {host.entry.board_id} did not take the demo actor: "
                              f"{exc}") from None

    def _signed_demo(self, module: bytes) -> bytes:
        """The greeter as signed on an earlier run while the module and the keys are the same
        (so a board that kept it is not sent it again), else signed now and kept."""
        issuer, subject = signing_account(), stored_key(DEMO_ACTOR, "module")
        kept = self.state / f"{DEMO_ACTOR}_s.wasm"
        try:
            earlier = SignedModule(kept.read_bytes())
            claims = earlier.verify()
            meta = claims.get("wascap") or {}
            if (claims["iss"], claims["sub"], earlier.hash, meta.get("caps"),
                    meta.get("call_alias")) == (issuer.public_key, subject.public_key,
                                                SignedModule(module).hash, DEMO_CAPS, DEMO_ACTOR):
                return kept.read_bytes()
        except (OSError, ClaimsError, ValueError):
            pass  # none kept yet, or not a module any more: sign it afresh
        signed = sign_module(module, issuer, subject,
                             ActorMetadata(DEMO_ACTOR, DEMO_CAPS, call_alias=DEMO_ACTOR))
        self.state.mkdir(parents=True, exist_ok=True)
        kept.write_bytes(signed)
        return signed

    async def apply_manifest(self) -> None:
        """--manifest on every board's host, through the Python host API; outcomes printed."""
        if self.manifest is None:
            return
        for board_id in list(self.gateway.hosts):
            host = Host.serving(self.gateway, board_id)
            outcomes = await host.apply_manifest(self.manifest)
            show_outcomes(outcomes, host.id, as_json=False)

    # -- what runs where

    def summary(self) -> list[str]:
        me = command_name()
        nats = (f"{self.config.rpc_url} (embedded nats-server, data in {self.nats.store_dir})"
                if self.nats else f"{self.config.rpc_url}")
        lines = [f"lattice {self.config.lattice!r} on {nats}"]
        for host in self.gateway.hosts.values():
            where = "simulated" if self.sim else host.entry.how
            lines.append(f"board {host.entry.board_id} ({where}, {host.entry.address}) is host "
                         f"{host.id}")
        lines.append(f"demo actor {DEMO_ACTOR} ({self.demo_key}) runs on it")
        nats_flag = "" if self.config.rpc_url == "nats://127.0.0.1:4222" else \
            f" --nats {self.config.rpc_url}"
        lines.append(self.logs_line())
        lines.append("try:")
        lines.append(f"  {me} call{nats_flag} {DEMO_ACTOR} Greet 'world'")
        if self.key_file is not None:
            board_nats = self.config.rpc_url
            lines.append(f"  {me} board --nats {board_nats} --key-file {self.key_file} info")
        lines.append("Ctrl-C stops everything")
        return lines

    def logs_line(self) -> str:
        logs = [f"gateway {self.state / GATEWAY_LOG}"]
        if self.sim is not None:
            logs.append(f"board {self.state / SIM_LOG}")
        if self.nats is not None:
            logs.append(f"nats-server {self.nats.log_path}")
        return f"logs (the run before's as .1): {', '.join(logs)}"

    async def follow_calls(self) -> None:
        """Count calls into the actors from the events the gateway publishes, for the view."""
        lattice = self.gateway.lattice
        await lattice.ctl.subscribe(f"wasmbus.rpcevt.{lattice.prefix}", cb=self.calls.on_event)

    def status(self, hints: list[str], width: int) -> RenderableType:
        return status_view(self.gateway.hosts.values(), self.calls, hints, width)

    # -- going away

    async def stop(self) -> None:
        if self.gateway is not None:
            await self.gateway.stop()
        if self.sim is not None:
            self.sim.stop()
        if self.nats is not None:
            self.nats.stop()
        if self._state_lock is not None:
            self._state_lock.close()
            self._state_lock = None


def up(args: argparse.Namespace) -> int:
    manifest = None
    if args.manifest:
        try:  # checked whole before anything starts (or a cluster seed is made)
            manifest = load_manifest(Path(args.manifest), os.environ)
        except ManifestError as exc:
            return fail(str(exc))
    try:
        config = lattice_config(args)
    except ConfigError as exc:
        return fail(str(exc))
    config.allow_file_load = True  # our own local lattice: file:// actors are allowed
    if config.seed_note:
        print(f"edgehost: {config.seed_note}", file=sys.stderr)
    state = state_dir(args.state_dir)
    try:
        gateway_log = log_gateway(state)
    except OSError as exc:
        return fail(f"cannot write the gateway's log in {state}: {exc.strerror or exc}")
    run = Up(args, config, state)
    run.manifest = manifest
    console = Console(stderr=False)

    async def come_up() -> None:
        run.lock_state()
        run.start_nats()
        boards = run.boards()
        await run.start_gateway(boards)
        await run.start_demo()
        await run.apply_manifest()

    async def serve() -> int:
        stopping = StopSignals()
        coming = asyncio.create_task(come_up())
        told = asyncio.create_task(stopping.wait())
        # Ctrl-C while up waits for its board (up to BOARD_WAIT_SECONDS) stops it there
        await asyncio.wait({coming, told}, return_when=asyncio.FIRST_COMPLETED)
        told.cancel()
        if not coming.done():
            coming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await coming
            await run.stop()
            return stopping.code
        try:
            coming.result()
        except (UpError, GatewayError, RegistryError, BoardError, ValueError, HostError) as exc:
            await run.stop()
            return fail(str(exc))
        live = sys.stdout.isatty() and not args.no_status
        printed, hints = live_hints(run.summary()) if live else (run.summary(), [])
        for line in printed:
            print(line, flush=True)
        if live:
            await run.follow_calls()
            with Live(run.status(hints, console.width), console=console,
                      refresh_per_second=2) as view:
                while not await stopping.wait(STATUS_SECONDS):
                    view.update(run.status(hints, console.width))
        else:
            await stopping.wait()
        print("edgehost: stopping", file=sys.stderr, flush=True)
        await run.stop()
        return stopping.code

    try:
        return asyncio.run(serve())
    except KeyboardInterrupt:
        return 130
    finally:
        gateway_log.close()
