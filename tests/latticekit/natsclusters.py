"""Real nats-server topologies on loopback for lattice tests: one server, a cluster, a leaf."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import nats
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from edgegate.natsserver import EmbeddedNatsServer, find_nats_server

START_TIMEOUT = 15.0
# A route that nothing listens on: JetStream in cluster mode refuses to start without at least
# one configured route, and the first node cannot know the others' ports before they exist.
# The node is reloaded with the real routes once its peers are up.
PLACEHOLDER_ROUTE = "nats-route://127.0.0.1:1"


class ClusterError(RuntimeError):
    """A topology did not come up (a node exited, a route or leaf never connected)."""


class NatsNode:
    """One nats-server process run from a config file that this class writes into `store_dir`.

    Every port is `-1` (the server picks it) and read back, so nodes started at once never race
    for a port: `ports` holds the `nats`, `monitoring` and `cluster` URLs
    from the ports file, and `leafnode` from `/varz` (the ports file leaves the leaf port out).
    """

    def __init__(self, name: str, store_dir: Path, *, cluster: dict | None = None,
                 leaf_listen: bool = False, leaf_remotes: list[str] | None = None,
                 js_domain: str | None = None):
        self.name = name
        self.store_dir = Path(store_dir)
        self.cluster = cluster
        self.leaf_listen = leaf_listen
        self.leaf_remotes = leaf_remotes or []
        self.js_domain = js_domain
        self.config_path = self.store_dir / "nats-server.conf"
        self.log_path = self.store_dir / "nats-server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.ports: dict[str, list[str]] = {}

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def url(self) -> str:
        """The client URL, `nats://127.0.0.1:PORT`."""
        return self.ports["nats"][0]

    @property
    def monitor_url(self) -> str:
        return self.ports["monitoring"][0]

    @property
    def cluster_url(self) -> str:
        return self.ports["cluster"][0]

    @property
    def leafnode_url(self) -> str:
        return self.ports["leafnode"][0]

    def write_config(self, routes: list[str] | None = None) -> None:
        js = {"store_dir": str(self.store_dir / "jetstream")}
        if self.js_domain:
            js["domain"] = self.js_domain
        lines = [
            f"server_name: {json.dumps(self.name)}",
            "listen: 127.0.0.1:-1",
            "http: 127.0.0.1:-1",
            f"ports_file_dir: {json.dumps(str(self.store_dir / 'ports'))}",
            f"jetstream {json.dumps(js)}",
        ]
        if self.cluster is not None:
            block = {"name": self.cluster["name"], "listen": "127.0.0.1:-1",
                     "routes": routes if routes is not None else self.cluster["routes"]}
            lines.append(f"cluster {json.dumps(block)}")
        leaf: dict = {}
        if self.leaf_listen:
            leaf["listen"] = "127.0.0.1:-1"
        if self.leaf_remotes:
            leaf["remotes"] = [{"url": url} for url in self.leaf_remotes]
        if leaf:
            lines.append(f"leafnodes {json.dumps(leaf)}")
        # nats-server's config format accepts JSON objects as blocks.
        self.config_path.write_text("\n".join(lines) + "\n")

    def start(self, timeout: float = START_TIMEOUT) -> NatsNode:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        ports_dir = self.store_dir / "ports"
        ports_dir.mkdir(exist_ok=True)
        self.write_config()
        binary = find_nats_server()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [binary, "-c", str(self.config_path)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        ports_file = ports_dir / f"{Path(binary).name}_{self.process.pid}.ports"
        wanted = {"nats", "monitoring"}
        if self.cluster is not None:
            wanted.add("cluster")
        try:
            self.ports = wait_for(
                lambda: self._read_ports(ports_file, wanted), timeout,
                f"nats-server {self.name} did not write its ports",
            )
            if self.leaf_listen:
                leaf = wait_for(lambda: self.monitor("varz").get("leaf", {}).get("port"),
                                timeout, f"nats-server {self.name} reported no leafnode port")
                self.ports["leafnode"] = [f"nats-leaf://127.0.0.1:{leaf}"]
        except ClusterError:
            self.stop()
            raise
        return self

    def _read_ports(self, ports_file: Path, wanted: set[str]) -> dict | None:
        if self.process is not None and self.process.poll() is not None:
            raise ClusterError(
                f"nats-server {self.name} exited with code {self.process.returncode}: "
                f"{self.log_tail()}"
            )
        try:
            ports = json.loads(ports_file.read_text())
        except (OSError, ValueError):
            return None  # not written, or not complete yet
        return ports if wanted <= set(ports) else None

    def reload(self, routes: list[str]) -> None:
        """Rewrite the config with these routes and have the server reload it (SIGHUP)."""
        self.write_config(routes)
        if self.process is not None:
            self.process.send_signal(1)

    def monitor(self, endpoint: str) -> dict:
        """The JSON of a monitoring endpoint such as `routez`, `leafz`, `jsz`."""
        with urllib.request.urlopen(f"{self.monitor_url}/{endpoint}", timeout=5) as reply:
            return json.loads(reply.read())

    def log_tail(self, lines: int = 3) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:]) if text else "(empty log)"

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.process = self.process, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_for(probe: Callable[[], object], timeout: float, what: str) -> object:
    """Poll `probe` until it returns something truthy; ClusterError naming `what` after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = probe()
        except (OSError, urllib.error.URLError, ValueError):
            found = None  # monitoring endpoint not answering yet
        if found:
            return found
        if time.monotonic() > deadline:
            raise ClusterError(f"{what} within {timeout:.0f} s")
        time.sleep(0.05)


class _Topology:
    """Start/stop bookkeeping shared by the topologies: stop every node, even on failure."""

    nodes: list

    @property
    def urls(self) -> list[str]:
        """One client URL per node, in node order."""
        return [node.url for node in self.nodes]

    @property
    def pids(self) -> list[int]:
        return [node.pid for node in self.nodes if node.pid is not None]

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SingleServer(_Topology):
    """One nats-server with JetStream (the gateway's own EmbeddedNatsServer)."""

    def __init__(self, store_dir: Path):
        self.server = EmbeddedNatsServer(Path(store_dir))
        self.nodes = [self.server]

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def pids(self) -> list[int]:
        proc = self.server.process
        return [proc.pid] if proc is not None else []

    def start(self, timeout: float = START_TIMEOUT) -> SingleServer:
        self.server.start(timeout)
        return self


class ThreeNodeCluster(_Topology):
    """Three nats-servers routed into one cluster with clustered JetStream.

    `start()` returns once every node sees routes to both others and JetStream has a meta
    leader with every peer current, so replicated streams and buckets can be created at once.
    """

    def __init__(self, store_dir: Path, cluster_name: str = "latticekit", size: int = 3):
        self.cluster_name = cluster_name
        store_dir = Path(store_dir)
        self.nodes = [
            NatsNode(f"n{i + 1}", store_dir / f"n{i + 1}",
                     cluster={"name": cluster_name, "routes": []})
            for i in range(size)
        ]

    def start(self, timeout: float = START_TIMEOUT) -> ThreeNodeCluster:
        first, rest = self.nodes[0], self.nodes[1:]
        first.cluster["routes"] = [PLACEHOLDER_ROUTE]
        first.start(timeout)
        for node in rest:
            node.cluster["routes"] = [first.cluster_url]
            node.start(timeout)
        first.cluster["routes"] = [node.cluster_url for node in rest]
        first.reload(first.cluster["routes"])
        names = {node.name for node in self.nodes}
        for node in self.nodes:
            wait_for(lambda node=node: routed_peers(node) >= names - {node.name}, timeout,
                     f"nats-server {node.name} did not route to all its peers")
        wait_for(self._jetstream_ready, timeout,
                 "the cluster's JetStream has no meta leader with every peer current")
        return self

    def _jetstream_ready(self) -> bool:
        """A meta leader that every node agrees on and that sees all its peers current: until
        then a replicated stream may find "no suitable peers for placement"."""
        metas = [node.monitor("jsz").get("meta_cluster") or {} for node in self.nodes]
        leaders = {meta.get("leader") for meta in metas}
        if len(leaders) != 1 or None in leaders or "" in leaders:
            return False
        leader = next(m for n, m in zip(self.nodes, metas, strict=True) if n.name in leaders)
        peers = leader.get("replicas") or []
        return len(peers) == len(self.nodes) - 1 and all(p.get("current") for p in peers)


def routed_peers(node: NatsNode) -> set[str]:
    return {route.get("remote_name") for route in node.monitor("routez").get("routes") or []}


class HubAndLeaf(_Topology):
    """A hub nats-server and a leaf node that dials it. `start()` returns once the leaf
    connection is up on both sides.

    Each has JetStream in its own domain (`hub_domain`, `leaf_domain`): a client on the leaf
    reaches the hub's JetStream API with `jetstream(domain=hub_domain)`, and ordinary subjects
    cross both ways; but nats-server (2.15) does not carry `$KV.…` publishes (key-value puts)
    over the leaf connection, so a bucket is written from the side that holds it.
    """

    def __init__(self, store_dir: Path, hub_domain: str = "hub", leaf_domain: str = "leaf"):
        store_dir = Path(store_dir)
        self.hub_domain = hub_domain
        self.leaf_domain = leaf_domain
        self.hub = NatsNode("hub", store_dir / "hub", leaf_listen=True, js_domain=hub_domain)
        self.leaf = NatsNode("leaf", store_dir / "leaf", js_domain=leaf_domain)
        self.nodes = [self.hub, self.leaf]

    def start(self, timeout: float = START_TIMEOUT) -> HubAndLeaf:
        self.hub.start(timeout)
        self.leaf.leaf_remotes = [self.hub.leafnode_url]
        self.leaf.start(timeout)
        for node in self.nodes:
            wait_for(lambda node=node: node.monitor("leafz").get("leafnodes"), timeout,
                     f"nats-server {node.name} has no leaf connection")
        return self


async def request_when_routed(url: str | list[str], subject: str, payload: bytes = b"", *,
                              timeout: float = 5.0, headers: dict | None = None):
    """Send a request from a fresh client until someone answers; return the reply message.

    Interest crosses routes and leaf connections a moment after a subscriber's flush, so the
    first request may find no responder: only that case is retried (never a request somebody
    received). Raises TimeoutError naming the subject after `timeout`.
    """
    nc = await nats.connect(servers=url if isinstance(url, list) else [url])
    try:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer on {subject} within {timeout:.0f} s")
            try:
                return await nc.request(subject, payload, timeout=left, headers=headers)
            except NoRespondersError:
                await asyncio.sleep(0.05)
            except NatsTimeout:
                raise TimeoutError(f"no answer on {subject} within {timeout:.0f} s")
    finally:
        await nc.close()
