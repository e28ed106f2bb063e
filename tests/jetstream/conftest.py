"""Fixtures for the JetStream tests: our client and a second, plain nats-py client on one server."""

from __future__ import annotations

import nats
import pytest


@pytest.fixture
async def nc(nats_server):
    """The connection the gateway's JetStream code is given."""
    client = await nats.connect(nats_server.url)
    yield client
    await client.close()


@pytest.fixture
async def other(nats_server):
    """A second, plain nats-py client: another host or tool writing to the same lattice."""
    client = await nats.connect(nats_server.url)
    yield client
    await client.close()
