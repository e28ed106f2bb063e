"""The lattice metadata bucket LATTICEDATA_{L}: created when absent, watched into caches."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from nats.aio.client import Client as NATS
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import api
from nats.js.errors import BadRequestError, InvalidKeyError, ServiceUnavailableError
from nats.js.kv import KV_DEL, KV_OP, KV_PURGE, KeyValue

from edgegate.jetstream.entries import (
    CLAIMS_PREFIX,
    LINKDEF_PREFIX,
    REFMAP_PREFIX,
    LinkDefinition,
    MetadataError,
    decode_claims,
    decode_refmap,
    link_id,
    refmap_key,
)

log = logging.getLogger(__name__)

DUPLICATE_WINDOW_SECONDS = 120.0
STREAM_NAME_IN_USE = 10058  # JetStream err_code when another host created the stream first

Callback = Callable[[Any], "Awaitable[None] | None"]


def no_jetstream(js_domain: str | None) -> str:
    """Why a JetStream API request got no answer, for an error line."""
    where = f" in domain {js_domain!r}" if js_domain else ""
    return f"no JetStream answers{where} (is JetStream enabled on the NATS server?)"


def bucket_name(lattice: str) -> str:
    return f"LATTICEDATA_{lattice}"


def stream_config(lattice: str, js_domain: str | None = None) -> api.StreamConfig:
    """The stream the OTP host creates for the bucket (its subjects carry the JS domain first
    when one is given, as that host writes them)."""
    bucket = bucket_name(lattice)
    prefix = f"{js_domain}." if js_domain else ""
    return api.StreamConfig(
        name=f"KV_{bucket}",
        subjects=[f"{prefix}$KV.{bucket}.>"],
        retention=api.RetentionPolicy.LIMITS,
        max_consumers=-1,
        max_msgs=-1,
        max_bytes=-1,
        max_msgs_per_subject=1,
        max_age=0,
        max_msg_size=-1,
        storage=api.StorageType.FILE,
        discard=api.DiscardPolicy.NEW,
        num_replicas=1,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        allow_rollup_hdrs=True,
        deny_delete=True,
        deny_purge=False,
        allow_direct=True,
        mirror_direct=False,
        sealed=False,
    )


class LatticeMetadata:
    """Claims, link definitions and OCI refmaps of one lattice, kept current by a watch.

    The watch is the one source of truth: every write goes to the bucket and the caches change
    (and the callbacks fire) when the watch delivers it, whoever wrote it. A write returns once
    the watch has seen it, so a lookup right after an awaited write finds it.

    Callbacks may be plain functions or coroutines; they run one at a time, in bucket order:
    `on_link_set(ld)`, `on_link_deleted(ld)`, `on_claims(record)`. One that raises is logged
    and the watch goes on.
    """

    def __init__(
        self, nc: NATS, lattice: str, js_domain: str | None = None, timeout: float = 5.0
    ):
        self.nc = nc
        self.lattice = lattice
        self.js_domain = js_domain or None
        self.timeout = timeout
        self.bucket = bucket_name(lattice)
        self.stream = f"KV_{self.bucket}"
        self.claims: dict[str, dict[str, str]] = {}
        self.links: dict[str, LinkDefinition] = {}
        self.refmaps: dict[str, str] = {}
        self.on_link_set: Callback | None = None
        self.on_link_deleted: Callback | None = None
        self.on_claims: Callback | None = None
        self._aliases: dict[str, str] = {}
        self._js = nc.jetstream(domain=self.js_domain, timeout=timeout)
        self._kv: KeyValue | None = None
        self._pre = ""  # the subject a key is written on, less the key
        self._watcher: KeyValue.KeyWatcher | None = None
        self._task: asyncio.Task[None] | None = None
        self._seen = 0  # stream sequence of the last entry the watch applied
        self._seen_changed = asyncio.Condition()

    # --- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Create the bucket if absent, then load every key and keep watching."""
        if self._task is not None:
            return
        self._kv = await self._open_bucket()
        try:
            await self._start_watch()
        except BaseException:
            self._kv = None
            raise

    async def resync(self) -> None:
        """Watch afresh from the bucket as it is now, e.g. after NATS came back: what changed
        meanwhile is applied (callbacks fire) and cached keys the bucket no longer holds are
        dropped; a bucket that is gone is made again. (nats-py's ordered consumer also recovers
        by itself, within two heartbeats.) Writes made meanwhile are confirmed by the new watch."""
        self._started()
        await self._stop_watch()
        self._kv = await self._open_bucket()
        await self._start_watch()

    async def stop(self) -> None:
        await self._stop_watch()
        self._kv = None

    async def _start_watch(self) -> None:
        assert self._kv is not None
        self._seen = 0  # stream sequences start again if the stream was made anew
        self._watcher = await self._kv.watchall()
        ready = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._watch(ready), name=f"watch {self.bucket}")
        try:
            await asyncio.wait_for(asyncio.shield(ready), self.timeout)
        except asyncio.TimeoutError:
            await self._stop_watch()
            raise MetadataError(
                f"lattice metadata: the watch on {self.bucket} did not deliver its keys "
                f"within {self.timeout:g} s"
            )

    async def _stop_watch(self) -> None:
        task, self._task = self._task, None
        watcher, self._watcher = self._watcher, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if watcher is not None:
            try:
                await watcher.stop()
            except Exception as exc:  # the connection may already be closed
                log.debug("stopping the watch on %s: %s", self.bucket, exc)

    async def _open_bucket(self) -> KeyValue:
        """Ask to create the stream with the OTP host's settings, as that host does each time
        it starts: JetStream answers with the stream when it exists with the same settings,
        and refuses (name in use) when it exists with others, which are then kept as they are."""
        try:
            info = await self._js.add_stream(stream_config(self.lattice, self.js_domain))
        except BadRequestError as exc:
            if exc.err_code != STREAM_NAME_IN_USE:
                raise MetadataError(
                    f"cannot create the lattice metadata stream {self.stream}: {exc.description}"
                )
            info = await self._js.stream_info(self.stream)
        except (ServiceUnavailableError, NatsTimeoutError):
            raise MetadataError(
                f"cannot create the lattice metadata stream {self.stream}: "
                + no_jetstream(self.js_domain)
            )
        subjects = info.config.subjects or []
        # One subject, $KV.{bucket}.> with or without a JS domain in front.
        kv_subject = re.compile(r"([^.>*]+\.)?\$KV\." + re.escape(self.bucket) + r"\.>")
        if len(subjects) != 1 or not kv_subject.fullmatch(subjects[0]):
            raise MetadataError(
                f"stream {self.stream} has subjects {subjects}, not the one "
                f"'$KV.{self.bucket}.>' a metadata bucket has"
            )
        # Keys are written on the stream's own subjects, domain prefix and all, so this host
        # and the one that made the bucket write to the same place.
        self._pre = subjects[0][:-1]
        return KeyValue(
            name=self.bucket, stream=self.stream, pre=self._pre, js=self._js,
            direct=bool(info.config.allow_direct),
        )

    # --- lookups ----------------------------------------------------------------------------

    def find_link(self, actor_id: str, contract_id: str, link_name: str) -> LinkDefinition | None:
        ld = self.links.get(link_id(actor_id, contract_id, link_name))
        if ld is not None:
            return ld
        for ld in self.links.values():  # a link some client stored under an id of its own
            if (ld.actor_id, ld.contract_id, ld.link_name) == (actor_id, contract_id, link_name):
                return ld
        return None

    def actor_for_alias(self, alias: str) -> str | None:
        return self._aliases.get(alias)

    def links_for_provider(self, provider_id: str, link_name: str) -> list[LinkDefinition]:
        return [
            ld for ld in self.links.values()
            if ld.provider_id == provider_id and ld.link_name == link_name
        ]

    # --- writes -----------------------------------------------------------------------------

    async def put_claims(self, claims: dict[str, Any]) -> None:
        """Write a CLAIMS_ record (see `claims_record`) under its `sub`."""
        record = decode_claims(claims, "", "claims to publish")
        await self._put(CLAIMS_PREFIX + record["sub"], json.dumps(record).encode())

    async def put_refmap(self, oci_url: str, public_key: str) -> None:
        if not oci_url or not public_key:
            raise MetadataError(
                f"a refmap needs an oci_url and a public_key, got {oci_url!r} and {public_key!r}"
            )
        value = json.dumps({"oci_url": oci_url, "public_key": public_key}).encode()
        await self._put(refmap_key(oci_url), value)

    async def put_link(self, ld: LinkDefinition) -> None:
        if not ld.id:
            ld.id = link_id(ld.actor_id, ld.contract_id, ld.link_name)
        await self._put(LINKDEF_PREFIX + ld.id, ld.to_json())

    async def delete_link(self, ldid: str) -> None:
        """Delete with a DEL marker: the OTP host's watch understands DEL, not PURGE."""
        if not ldid:
            raise MetadataError("delete_link needs a link id")
        self._started()
        key = LINKDEF_PREFIX + ldid
        ack = await self._js.publish(self._pre + key, b"", headers={KV_OP: KV_DEL})
        await self._wait_seen(ack.seq, key)

    def _started(self) -> KeyValue:
        if self._kv is None:
            raise MetadataError(f"lattice metadata {self.bucket} is not started")
        return self._kv

    async def _put(self, key: str, value: bytes) -> None:
        try:
            revision = await self._started().put(key, value)
        except InvalidKeyError:
            raise MetadataError(f"{key!r} is not a valid key for {self.bucket}")
        await self._wait_seen(revision, key)

    async def _wait_seen(self, revision: int, key: str) -> None:
        try:
            async with self._seen_changed:
                await asyncio.wait_for(
                    self._seen_changed.wait_for(lambda: self._seen >= revision), self.timeout
                )
        except asyncio.TimeoutError:
            log.warning("wrote %s to %s, but the watch has not seen it after %g s",
                        key, self.bucket, self.timeout)

    # --- the watch --------------------------------------------------------------------------

    async def _watch(self, ready: asyncio.Future[None]) -> None:
        assert self._watcher is not None
        loaded: set[str] | None = set()  # keys of the initial load, until it is complete
        async for entry in self._watcher:
            if entry is None:  # the initial values are all in
                if loaded is not None:
                    await self._drop_missing(loaded)
                    loaded = None
                if not ready.done():
                    ready.set_result(None)
                continue
            if loaded is not None:
                loaded.add(entry.key)
            try:
                await self._apply(entry.key, entry.value or b"",
                                  entry.operation in (KV_DEL, KV_PURGE))
            except MetadataError as exc:
                log.warning("lattice metadata: skipping %s: %s", entry.key, exc)
            async with self._seen_changed:
                self._seen = max(self._seen, entry.revision or 0)
                self._seen_changed.notify_all()

    async def _drop_missing(self, loaded: set[str]) -> None:
        """After a fresh load, forget what the bucket no longer has (a restart of the watch)."""
        cached = [LINKDEF_PREFIX + ldid for ldid in self.links]
        cached += [CLAIMS_PREFIX + pk for pk in self.claims]
        cached += [refmap_key(url) for url in self.refmaps]
        for key in cached:
            if key not in loaded:
                await self._apply(key, b"", deleted=True)

    async def _apply(self, key: str, value: bytes, deleted: bool) -> None:
        what = f"{self.bucket} key {key}"
        if key.startswith(LINKDEF_PREFIX):
            ldid = key[len(LINKDEF_PREFIX):]
            if deleted:
                gone = self.links.pop(ldid, None)
                if gone is not None:
                    await self._call(self.on_link_deleted, gone)
                return
            ld = LinkDefinition.from_json(value, what)
            ld.id = ldid or ld.id  # the cache is keyed as the bucket is
            self.links[ld.id] = ld
            await self._call(self.on_link_set, ld)
        elif key.startswith(CLAIMS_PREFIX):
            public_key = key[len(CLAIMS_PREFIX):]
            if deleted:
                self.claims.pop(public_key, None)
                for alias in [a for a, pk in self._aliases.items() if pk == public_key]:
                    del self._aliases[alias]
                return
            record = decode_claims(value, public_key, what)
            self.claims[public_key] = record
            alias = record["call_alias"]
            # As the OTP host: the first actor to claim an alias keeps it; one letter is none.
            if len(alias) > 1:
                self._aliases.setdefault(alias, public_key)
            await self._call(self.on_claims, record)
        elif key.startswith(REFMAP_PREFIX):
            if deleted:
                for url in [u for u in self.refmaps if refmap_key(u) == key]:
                    del self.refmaps[url]
                return
            oci_url, public_key = decode_refmap(value, what)
            self.refmaps[oci_url] = public_key
        else:
            log.debug("lattice metadata: ignoring key %s", key)

    async def _call(self, callback: Callback | None, arg: Any) -> None:
        if callback is None:
            return
        try:
            result = callback(arg)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("lattice metadata: a callback failed on %r", arg)
