"""The project's parts the pytest plugin stands on, imported in this one place.

The gateway's modules are being moved about; the plugin reaches them only through the names
below, so a move is fixed here and nowhere else.
"""

from __future__ import annotations

from pathlib import Path

from edgecli import actorbuild
from edgecli.actorbuild import ActorBuildError
from edgecli.linkfaults import FaultError, Rates
from edgecli.linkproxy import LinkProxy, ProxyError
from edgegate import Host, HostError
from edgegate.config import ConfigError, LatticeConfig
from edgegate.devices.boardclient import BoardClient
from edgegate.devices.boardkey import BoardKey
from edgegate.devices.registry import BoardEntry, RegistryError, load_registry
from edgegate.devices.session import BoardError, BoardRefused
from edgegate.devices.simprocess import SimError, SimProcess
from edgegate.gateway import Gateway, GatewayError
from edgegate.natsserver import EmbeddedNatsServer
from edgegate.wascap import ActorMetadata, KeyPair, SignedModule, sign_module

__all__ = ["ActorBuildError", "ActorMetadata", "BoardClient", "BoardEntry", "BoardError",
           "BoardKey", "BoardRefused", "ConfigError", "EmbeddedNatsServer", "FaultError",
           "Gateway", "GatewayError", "Host", "HostError", "KeyPair", "LatticeConfig",
           "LinkProxy", "ProxyError", "Rates", "RegistryError", "SignedModule", "SimError",
           "SimProcess", "example_actor", "load_registry", "own_actor",
           "sign_module"]


def example_actor(name: str) -> Path:
    """One of edgehost's example actors (its tools/actors/NAME.c), built where builds go."""
    source = actorbuild.SOURCES / (name + ".c")
    if not source.is_file():
        names = sorted(p.stem for p in actorbuild.SOURCES.glob("*.c"))
        raise ActorBuildError("no example actor %r; edgehost has %s" % (name, ", ".join(names)))
    return actorbuild.build_actor(source)


def own_actor(source: Path, out_dir: Path) -> Path:
    """A user's C actor built into `out_dir` as edgehost builds its own, against edgehost's
    waPC guest header (`#include "wapc.h"`) unless the source's folder has one."""
    if not source.is_file():
        raise ActorBuildError("%s: no such actor source" % source)
    out_dir.mkdir(parents=True, exist_ok=True)
    # the build reads its includes beside the source: a copy with the header beside it
    copy = out_dir / source.name
    copy.write_bytes(source.read_bytes())
    header = source.parent / "wapc.h"
    (out_dir / "wapc.h").write_bytes((header if header.is_file() else
                                      actorbuild.SOURCES / "wapc.h").read_bytes())
    return actorbuild.build_actor(copy, out_dir)
