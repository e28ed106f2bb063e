"""The project's parts the pytest plugin stands on, imported in this one place.

The gateway's modules are being moved about; the plugin reaches them only through the names
below, so a move is fixed here and nowhere else.
"""

from __future__ import annotations

from pathlib import Path

from edgecli import actorbuild, mpbuild
from edgecli.actorbuild import ActorBuildError
from edgecli.linkfaults import FaultError, Rates
from edgecli.linkproxy import LinkProxy, ProxyError
from edgecli.simulator import SimError, SimProcess
from edgegate import Host, HostError
from edgegate.boardclient import BoardClient, BoardError, BoardKey, BoardRefused
from edgegate.config import ConfigError, LatticeConfig
from edgegate.devices.registry import BoardEntry, RegistryError, load_registry
from edgegate.gateway import Gateway, GatewayError
from edgegate.natsserver import EmbeddedNatsServer
from edgegate.wascap import ActorMetadata, KeyPair, SignedModule, sign_module

__all__ = ["ActorBuildError", "ActorMetadata", "BoardClient", "BoardEntry", "BoardError",
           "BoardKey", "BoardRefused", "ConfigError", "EmbeddedNatsServer", "FaultError",
           "Gateway", "GatewayError", "Host", "HostError", "KeyPair", "LatticeConfig",
           "LinkProxy", "ProxyError", "Rates", "RegistryError", "SignedModule", "SimError",
           "SimProcess", "example_actor", "load_registry", "micropython_built", "sign_module"]


def micropython_built() -> bool:
    """Whether the board's MicroPython with its wasm3 module is built and up to date (the
    simulated board runs on it then; building it takes minutes, so a test run never does)."""
    binary = mpbuild.OUTPUT / "micropython"
    stamp = mpbuild.OUTPUT / "micropython.inputs"
    return binary.exists() and stamp.exists() and stamp.read_text() == mpbuild.inputs_digest()


def example_actor(name: str) -> Path:
    """One of edgehost's example actors (its tools/actors/NAME.c), built where builds go."""
    source = actorbuild.SOURCES / (name + ".c")
    if not source.is_file():
        names = sorted(p.stem for p in actorbuild.SOURCES.glob("*.c"))
        raise ActorBuildError("no example actor %r; edgehost has %s" % (name, ", ".join(names)))
    return actorbuild.build_actor(source)
