"""The kit's nats-server topologies carry requests between their nodes, share JetStream, and
leave no process behind."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nats
import pytest

from latticekit.natsclient import flush_all
from latticekit.natsclusters import (
    ClusterError,
    HubAndLeaf,
    NatsNode,
    ThreeNodeCluster,
    request_when_routed,
)

pytestmark = pytest.mark.nats
TESTS_DIR = Path(__file__).resolve().parent.parent


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def serve_echo(url: str, subject: str):
    """A client on `url` answering requests on `subject` with `echo:` + the payload."""
    nc = await nats.connect(url)

    async def answer(msg):
        await msg.respond(b"echo:" + msg.data)

    await nc.subscribe(subject, cb=answer)
    await flush_all(nc)
    return nc


async def test_single_server_answers_a_request(nats_single):
    responder = await serve_echo(nats_single.url, "kit.single")
    try:
        reply = await request_when_routed(nats_single.url, "kit.single", b"hi")
        assert reply.data == b"echo:hi"
    finally:
        await responder.close()


async def test_request_on_node_1_reaches_a_subscriber_on_node_3(nats_cluster):
    node1, _, node3 = nats_cluster.urls
    assert len(set(nats_cluster.urls)) == 3
    responder = await serve_echo(node3, "kit.cluster")
    try:
        reply = await request_when_routed(node1, "kit.cluster", b"across")
        assert reply.data == b"echo:across"
    finally:
        await responder.close()


async def test_cluster_key_value_written_on_node_1_is_read_on_node_3(nats_cluster):
    writer = await nats.connect(nats_cluster.urls[0])
    reader = await nats.connect(nats_cluster.urls[2])
    try:
        bucket = await writer.jetstream().create_key_value(bucket="KITTEST", replicas=3)
        await bucket.put("answer", b"42")
        entry = await (await reader.jetstream().key_value("KITTEST")).get("answer")
        assert entry.value == b"42"
    finally:
        await writer.close()
        await reader.close()


async def test_request_from_the_leaf_reaches_the_hub_and_back(nats_leaf):
    responder = await serve_echo(nats_leaf.hub.url, "kit.leaf")
    try:
        reply = await request_when_routed(nats_leaf.leaf.url, "kit.leaf", b"up")
        assert reply.data == b"echo:up"
    finally:
        await responder.close()


async def test_a_leaf_client_reaches_the_hubs_jetstream_by_its_domain(nats_leaf):
    on_leaf = await nats.connect(nats_leaf.leaf.url)
    on_hub = await nats.connect(nats_leaf.hub.url)
    try:
        await (await on_hub.jetstream().create_key_value(bucket="KITLEAF")).put("k", b"v")
        from_leaf = await on_leaf.jetstream(domain=nats_leaf.hub_domain).key_value("KITLEAF")
        assert (await from_leaf.get("k")).value == b"v"
        info = await on_leaf.jetstream(domain=nats_leaf.leaf_domain).account_info()
        assert info.streams == 0  # the leaf's own JetStream is a separate domain
    finally:
        await on_leaf.close()
        await on_hub.close()


async def test_request_when_routed_names_the_subject_nobody_serves(nats_single):
    with pytest.raises(TimeoutError, match="no answer on kit.nobody"):
        await request_when_routed(nats_single.url, "kit.nobody", timeout=0.5)


def test_stopping_a_cluster_and_a_leaf_ends_every_process(tmp_path):
    with ThreeNodeCluster(tmp_path / "c") as cluster, HubAndLeaf(tmp_path / "l") as leaf:
        pids = cluster.pids + leaf.pids
        assert len(pids) == 5 and all(alive(pid) for pid in pids)
    assert not any(alive(pid) for pid in pids)


def test_a_failure_inside_the_block_still_ends_every_process(tmp_path):
    with pytest.raises(RuntimeError, match="test body failed"):
        with ThreeNodeCluster(tmp_path / "c") as cluster:
            pids = cluster.pids
            raise RuntimeError("test body failed")
    assert pids and not any(alive(pid) for pid in pids)


def test_a_node_that_cannot_start_is_one_clear_error(tmp_path):
    node = NatsNode("broken", tmp_path / "broken", leaf_remotes=["nats-leaf://no such host:x"])
    with pytest.raises(ClusterError, match="nats-server broken exited with code"):
        node.start()
    assert node.process is None


def test_the_fixtures_leave_no_process_behind(tmp_path):
    """Run the fixtures in a pytest of their own, then look for the servers they started."""
    pid_file = tmp_path / "pids.txt"
    (tmp_path / "conftest.py").write_text(
        "from latticekit.fixtures import nats_cluster, nats_leaf, nats_single\n")
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(f"""
        def test_all(nats_single, nats_cluster, nats_leaf):
            pids = nats_single.pids + nats_cluster.pids + nats_leaf.pids
            open({str(pid_file)!r}, "w").write(" ".join(map(str, pids)))
    """))
    env = dict(os.environ, PYTHONPATH=str(TESTS_DIR))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
         str(tmp_path), "-c", os.devnull, str(tmp_path / "test_inner.py")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    pids = [int(pid) for pid in pid_file.read_text().split()]
    assert len(pids) == 6
    assert not any(alive(pid) for pid in pids)


async def test_a_subscription_flushed_right_after_connect_is_served_at_once(nats_single):
    """Guards natsclient.flush_all against nats-py's flush overtaking a queued SUB."""
    asker = await nats.connect(nats_single.url)
    try:
        for round_ in range(20):
            responder = await serve_echo(nats_single.url, f"kit.fresh.{round_}")
            try:
                reply = await asker.request(f"kit.fresh.{round_}", b"now", timeout=5)
                assert reply.data == b"echo:now"
            finally:
                await responder.close()
    finally:
        await asker.close()
