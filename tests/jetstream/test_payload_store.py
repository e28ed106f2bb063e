"""Big payloads through the lattice's object store `{L}` against a real nats-server."""

from __future__ import annotations

import base64
import os

import pytest

from edgegate.jetstream import (
    INVOCATION_CHUNK_THRESHOLD,
    RESPONSE_CHUNK_THRESHOLD,
    ChunkError,
    PayloadStore,
    needs_chunking,
    response_object,
)

pytestmark = pytest.mark.nats

INVOCATION_ID = "6f3a1c2e-8d4b-4e0a-9c1f-2b7d5e8a9f01"


def test_thresholds_are_the_otp_hosts_and_wasmbus_rpcs():
    assert (INVOCATION_CHUNK_THRESHOLD, RESPONSE_CHUNK_THRESHOLD) == (700 * 1024, 900 * 1024)
    assert not needs_chunking(700 * 1024, INVOCATION_CHUNK_THRESHOLD)
    assert needs_chunking(700 * 1024 + 1, INVOCATION_CHUNK_THRESHOLD)
    assert response_object(INVOCATION_ID) == INVOCATION_ID + "-r"


async def test_two_mib_round_trip_and_the_reader_deletes_it(nc, other):
    payload = os.urandom(2 * 1024 * 1024)
    store = PayloadStore(nc, "default")
    await store.put(INVOCATION_ID, payload)
    # another host reads it from the store named after the lattice, with plain nats-py
    theirs = await other.jetstream().object_store("default")
    assert (await theirs.get(INVOCATION_ID)).data == payload
    assert await store.take(INVOCATION_ID) == payload
    with pytest.raises(ChunkError, match=f"payload '{INVOCATION_ID}' is not in object store "
                                         "'default'"):
        await store.get(INVOCATION_ID)
    info = await other.jetstream().stream_info("OBJ_default")
    assert info.state.bytes < 4096  # the chunks are gone, not only the name


async def test_a_response_another_host_stored_is_read(nc, other):
    theirs = await other.jetstream().create_object_store("default")
    await theirs.put(response_object(INVOCATION_ID), b"r" * (RESPONSE_CHUNK_THRESHOLD + 1))
    store = PayloadStore(nc, "default")
    assert await store.get(response_object(INVOCATION_ID)) == b"r" * (
        RESPONSE_CHUNK_THRESHOLD + 1)


async def test_an_object_store_made_with_other_settings_is_used_as_it_is(nc, other):
    js = other.jetstream()
    await js.create_object_store("default", description="made by another host")
    store = PayloadStore(nc, "default")
    await store.put("x", b"data")
    assert await store.get("x") == b"data"
    assert (await js.stream_info("OBJ_default")).config.description == "made by another host"


async def test_a_missing_object_is_a_clear_error_and_deleting_it_is_harmless(nc):
    store = PayloadStore(nc, "default")
    with pytest.raises(ChunkError, match="payload 'nope-r' is not in object store 'default'"):
        await store.get("nope-r")
    await store.delete("nope-r")
    with pytest.raises(ChunkError, match="payload 'nope-r' is not in object store 'default'"):
        await store.take("nope-r")


async def test_a_corrupt_object_is_a_clear_error(nc, other):
    store = PayloadStore(nc, "default")
    await store.put("good", b"x")  # creates the store
    name = base64.urlsafe_b64encode(b"bad").decode()
    await other.jetstream().publish(f"$O.default.M.{name}", b"[not object metadata")
    with pytest.raises(ChunkError, match="payload 'bad' in object store 'default' is unreadable"):
        await store.get("bad")


async def test_a_lattice_prefix_that_cannot_name_a_store_is_refused(nc):
    with pytest.raises(ChunkError, match=r"lattice prefix 'a\.b' cannot name an object store"):
        await PayloadStore(nc, "a.b").put("x", b"y")


async def test_a_store_that_cannot_be_created_is_a_clear_error(nc, other):
    await other.jetstream().add_stream(name="SQUATTER", subjects=["$O.default.>"])
    with pytest.raises(ChunkError, match="cannot create object store 'default': .*overlap"):
        await PayloadStore(nc, "default").put("x", b"y")


async def test_slow_transfers_give_an_error_naming_the_object(nc):
    store = PayloadStore(nc, "default")
    await store.put("warm", b"up")  # the store is open; now nothing can finish in time
    store.timeout = 1e-6
    with pytest.raises(ChunkError, match=r"storing payload 'big' \(2097152 bytes\) in object "
                                         r"store 'default' took over"):
        await store.put("big", bytes(2 * 1024 * 1024))
    with pytest.raises(ChunkError, match="reading payload 'warm' from object store 'default' "
                                         "took over"):
        await store.get("warm")


async def test_a_server_without_jetstream_is_one_clear_error(nc_without_jetstream):
    with pytest.raises(ChunkError, match="cannot open object store 'default': no JetStream "
                                         "answers"):
        await PayloadStore(nc_without_jetstream, "default", timeout=1).get("x")


async def test_a_full_store_is_a_clear_error(nc, other):
    await other.jetstream().create_object_store("default", max_bytes=64 * 1024)
    with pytest.raises(ChunkError, match=r"storing payload 'big' \(1048576 bytes\) in object "
                                         "store 'default' failed: .*"):
        await PayloadStore(nc, "default").put("big", bytes(1024 * 1024))


async def test_a_store_that_vanished_is_made_again(nc, other):
    store = PayloadStore(nc, "default")
    await store.put("x", b"1")
    await other.jetstream().delete_object_store("default")
    with pytest.raises(ChunkError, match="object store 'default' is gone; it is made again"):
        await store.put("y", b"2")
    await store.put("y", b"2")
    assert await store.take("y") == b"2"


async def test_the_store_is_reached_through_a_js_domain(nc_in_domain):
    store = PayloadStore(nc_in_domain, "default", js_domain="hub")
    await store.put(INVOCATION_ID, b"p" * (INVOCATION_CHUNK_THRESHOLD + 1))
    assert await store.take(INVOCATION_ID) == b"p" * (INVOCATION_CHUNK_THRESHOLD + 1)
