"""A lattice rig for the gateway tests: simulated boards with actors, a registry, a gateway.

(Named uniquely: every test folder has a conftest, and module names must not collide.)
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
from pathlib import Path

from edgegate.config import LatticeConfig
from edgegate.devices.boardclient import BoardClient
from edgegate.devices.boardkey import BoardKey
from edgegate.devices.registry import load_registry
from edgegate.devices.simprocess import SimProcess
from edgegate.gateway import Gateway
from edgegate.wascap import ActorMetadata, KeyPair, sign_module
from support.commands import COMMAND_TIMEOUT, EDGEHOST

SIM_START_TIMEOUT = 15.0


def edgehost(*argv: object, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([EDGEHOST, *map(str, argv)], capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT, env={**os.environ, **env},
                          stdin=subprocess.DEVNULL)


class GatewayProcess:
    def __init__(self, registry: Path, nats_url: str, env: dict[str, str], err: Path):
        self.err_path = err
        self.process = subprocess.Popen(
            [EDGEHOST, "gateway", "--boards", str(registry), "--nats", nats_url],
            stdout=subprocess.DEVNULL, stderr=err.open("wb"), stdin=subprocess.DEVNULL,
            env={**os.environ, **env})

    def wait_for_line(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.err_path.read_text(errors="replace").splitlines():
                if text in line:
                    return line
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"gateway never said {text!r}: {self.err_path.read_text()}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait(5)


class SimBoard:
    """One `edgehost sim` on TCP with its key file and flash in `folder`."""

    def __init__(self, folder: Path, board_id: str, *sim_args: str):
        folder.mkdir(parents=True, exist_ok=True)
        self.board_id = board_id
        self.key_file = folder / f"{board_id}.key"
        self.key = BoardKey(board_id, secrets.token_bytes(32))
        self.key_file.write_text(json.dumps({"board_id": board_id,
                                             "pairing_key": self.key.pairing_key.hex()}))
        self.folder = folder
        self.sim_args = list(sim_args)  # e.g. --profile esp32-devkitc
        self.sim: SimProcess | None = None

    def start(self, port: int = 0) -> SimBoard:
        self.sim = SimProcess(["--tcp", f"127.0.0.1:{port}", "--key-file", str(self.key_file),
                               "--flash-dir", str(self.folder / "flash"), *self.sim_args],
                              self.folder / "sim.err", SIM_START_TIMEOUT)
        return self

    @property
    def address(self) -> str:
        assert self.sim is not None
        return self.sim.where.removeprefix("tcp://")

    def stop(self) -> None:
        if self.sim is not None:
            self.sim.stop()

    def kill(self) -> None:
        """Power cut: SIGKILL, no goodbye on the link."""
        assert self.sim is not None
        self.sim.process.kill()
        self.sim.process.wait(5)

    async def install(self, *modules: bytes) -> None:
        """Install signed modules directly, before a gateway takes the board's link."""
        host, port = self.address.rsplit(":", 1)
        client = await BoardClient.connect_tcp(host, int(port), self.key)
        try:
            for module in modules:
                from edgegate.wascap import SignedModule
                signed = SignedModule(module)
                await client.install(module, signed.token.text, signed.claims["sub"])
        finally:
            await client.close()

    def registry_entry(self, **extra: object) -> dict[str, object]:
        return {"board_id": self.board_id, "key_file": str(self.key_file),
                "tcp": self.address, **extra}


def signed_actor(module: bytes, name: str, call_alias: str | None = None,
                 caps: list[str] | None = None) -> tuple[bytes, str]:
    """`module` signed with fresh keys: (signed bytes, actor public key)."""
    subject = KeyPair.generate("module")
    data = sign_module(module, KeyPair.generate("account"), subject,
                       ActorMetadata(name, caps or [], call_alias=call_alias))
    return data, subject.public_key


def write_registry(path: Path, *entries: dict[str, object]) -> Path:
    path.write_text(json.dumps({"boards": list(entries)}))
    return path


async def start_gateway(registry: Path, nats_url: str, env: dict[str, str],
                        **settings: object) -> Gateway:
    """A gateway in this process; `settings` override LatticeConfig fields."""
    config = LatticeConfig.from_env(env, nats_url=nats_url)
    for name, value in settings.items():
        setattr(config, name, value)
    gateway = Gateway(config, load_registry(registry))
    await gateway.start()
    return gateway


async def wait_for(predicate, timeout: float = 10.0, what: str = "the condition") -> None:
    """Poll `predicate()` until it is true; AssertionError naming `what` after `timeout`."""
    import asyncio
    import time
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g} s")
        await asyncio.sleep(0.05)


def serving(gateway: Gateway, board_id: str, actors: int = 1):
    """A predicate: the gateway's host for `board_id` serves `actors` actors."""
    def check() -> bool:
        host = gateway.hosts.get(board_id)
        return host is not None and host.ready and len(host.actors) >= actors
    return check
