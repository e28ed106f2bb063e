"""The Python host API: drive one board host from a program, with or without a lattice."""

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
from edgegate.hostapi.host import Host

__all__ = ["ActorError", "BoardUnreachable", "CallFailed", "Host", "HostError",
           "HostNotStarted", "LatticeRequired", "LinkError", "ProviderError"]
