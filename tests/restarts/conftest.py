"""The lattice fixtures (a real nats-server, simulated boards, gateway processes) for the
restart scenarios."""

from __future__ import annotations

from support import latticefixtures

globals().update(latticefixtures.load())
