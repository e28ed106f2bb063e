"""The Host API's errors: typed, each with the one-line reason the command line prints."""


class HostError(Exception):
    """Something the host could not do; str() is one line saying what and why."""


class HostNotStarted(HostError):
    """The host is not started (or was stopped): call `start()` first."""


class BoardUnreachable(HostError):
    """The board did not answer, or the lattice could not be joined."""


class ActorError(HostError):
    """An actor could not be fetched, verified, started, updated or stopped."""


class CallFailed(HostError):
    """An actor call got no answer, or an error instead of one."""


class LinkError(HostError):
    """A link definition could not be set or removed."""


class ProviderError(HostError):
    """A capability provider could not be started or stopped (a board host runs none today)."""


class LatticeRequired(HostError):
    """The operation needs a lattice: give the host a `nats_url`."""
