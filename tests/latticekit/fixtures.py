"""pytest fixtures for lattice tests: nats-server topologies and plain providers, all stopped
afterwards. Import the ones you use into a conftest.py (`from latticekit.fixtures import …`)."""

from __future__ import annotations

import pytest

from latticekit.natsclusters import HubAndLeaf, SingleServer, ThreeNodeCluster
from latticekit.plainprovider import PlainProvider


@pytest.fixture
def nats_single(tmp_path):
    """A SingleServer: one nats-server with JetStream (`.url`, `.urls`)."""
    with SingleServer(tmp_path / "nats-single") as topology:
        yield topology


@pytest.fixture
def nats_cluster(tmp_path):
    """A ThreeNodeCluster, routes up and a JetStream meta leader elected (`.urls[0..2]`)."""
    with ThreeNodeCluster(tmp_path / "nats-cluster") as topology:
        yield topology


@pytest.fixture
def nats_leaf(tmp_path):
    """A HubAndLeaf with the leaf connected (`.hub.url`, `.leaf.url`, `.hub_domain`)."""
    with HubAndLeaf(tmp_path / "nats-leaf") as topology:
        yield topology


@pytest.fixture
async def plain_providers():
    """`await make(servers, **PlainProvider options)` -> a started PlainProvider; every one
    made is stopped after the test."""
    made: list[PlainProvider] = []

    async def make(servers, **options) -> PlainProvider:
        provider = PlainProvider(servers, **options)
        made.append(provider)
        return await provider.start()

    yield make
    for provider in made:
        await provider.stop()
