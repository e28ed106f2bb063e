"""A gateway joins a lattice whose NATS speaks only TLS, trusting the CA it is given."""

from __future__ import annotations

import socket
import ssl
import subprocess
import time

import nats
import pytest
from support.latticecalls import ping_hosts
from support.latticerig import serving, signed_actor, start_gateway, wait_for, write_registry

from edgegate.natsserver import find_nats_server

pytestmark = pytest.mark.nats


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def tls_nats(tmp_path):
    """nats-server with JetStream behind TLS (a self-signed certificate for 127.0.0.1)."""
    cert, key = tmp_path / "server.pem", tmp_path / "server.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen([find_nats_server(), "-js", "-sd", str(tmp_path / "js"), "-a",
                             "127.0.0.1", "-p", str(port), "--tls", "--tlscert", str(cert),
                             "--tlskey", str(key)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "nats-server with TLS did not come up"
            time.sleep(0.05)
    try:
        yield f"tls://127.0.0.1:{port}", cert
    finally:
        proc.terminate()
        proc.wait(10)


async def test_a_gateway_joins_a_tls_only_lattice_with_its_ca(tls_nats, sim_boards, actors,
                                                             tmp_path, cluster_env):
    url, cert = tls_nats
    board = sim_boards("kitchen")
    echo, _ = signed_actor(actors["echo"], "echo")
    await board.install(echo)
    gw = await start_gateway(write_registry(tmp_path / "boards.json", board.registry_entry()),
                             url, cluster_env, tls_ca=str(cert))
    try:
        await wait_for(serving(gw, "kitchen"))
        nc = await nats.connect(url, tls=ssl.create_default_context(cafile=str(cert)))
        try:
            hosts = await ping_hosts(nc)
        finally:
            await nc.close()
        assert [h["labels"]["edgehost.board"] for h in hosts] == ["kitchen"]
        assert hosts[0]["rpc_host"] == url
    finally:
        await gw.stop()
