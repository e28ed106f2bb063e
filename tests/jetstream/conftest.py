"""Fixtures for the JetStream tests: our client and a second, plain nats-py client on one server."""

from __future__ import annotations

import asyncio
import socket
import subprocess

import nats
import pytest

from edgegate.natsserver import find_nats_server


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


async def own_server(*args: str):
    """Run nats-server with `args` on a free loopback port; yield a connection to it."""
    with socket.socket() as probe:  # a free port; nats-server takes it a moment later
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([find_nats_server(), "-a", "127.0.0.1", "-p", str(port), *args],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):  # until it listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                await asyncio.sleep(0.05)
        client = await nats.connect(f"nats://127.0.0.1:{port}", allow_reconnect=False)
        yield client
        await client.close()
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture
async def nc_without_jetstream():
    """A connection to a real nats-server started without JetStream."""
    async for client in own_server():
        yield client


@pytest.fixture
async def nc_in_domain(tmp_path):
    """A connection to a real nats-server whose JetStream has the domain `hub`."""
    config = tmp_path / "domain.conf"
    config.write_text(f'jetstream {{ domain: hub, store_dir: "{tmp_path / "js"}" }}\n')
    async for client in own_server("-c", str(config)):
        yield client
