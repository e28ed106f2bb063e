"""A wasmbus-rpc-era capability provider in plain nats-py, for testing a host from outside.

It serves its RPC, link-definition, health and shutdown subjects (spec §1, §8), checks every
inbound invocation by every anti-forgery rule (spec §3) and records the outcome, and invokes
actors with invocations it signs itself.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Awaitable, Callable, Iterable

import msgpack
import nats
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from latticekit.antiforgery import CheckRecord, check_invocation, forge
from latticekit.invocations import (
    actor_entity,
    build_invocation,
    link_id,
    pack,
    provider_entity,
    unpack,
    unpack_response,
)
from latticekit.natsclient import flush_all
from latticekit.nkeypairs import NKey

# wasmbus-rpc chunks any invocation or response payload above this through the object store.
CHUNK_THRESHOLD = 900 * 1024

Handler = Callable[[dict], "bytes | Awaitable[bytes]"]


class ActorUnreachable(NoRespondersError):
    """Nobody serves the actor's subject; unlike nats-py's own error it names the subject."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else super().__str__()


class InvocationRecord:
    """One invocation this provider received: what came, what every check said, what went back.

    `invocation` is the decoded map (None when the body was not msgpack), `checks` the
    CheckRecord (None likewise), `response` the InvocationResponse sent, `headers` the NATS
    headers (a W3C `traceparent` travels there), `chunked` whether msg came via the object
    store, `payload` the whole msg after de-chunking.
    """

    def __init__(self, subject: str, headers: dict | None):
        self.subject = subject
        self.headers = headers or {}
        self.invocation: dict | None = None
        self.checks: CheckRecord | None = None
        self.response: dict | None = None
        self.chunked = False
        self.payload = b""

    @property
    def passed(self) -> bool:
        return self.checks is not None and self.checks.passed

    @property
    def operation(self) -> str | None:
        return self.invocation.get("operation") if self.invocation else None

    def __repr__(self) -> str:
        return (f"InvocationRecord({self.subject!r}, op={self.operation!r}, "
                f"failed={self.checks.failed if self.checks else 'undecodable'})")


def echo(invocation: dict) -> bytes:
    return invocation["msg"]


class PlainProvider:
    """A capability provider on the lattice `lattice`, reached at `servers` (URL or list).

    provider_key: its `V…` key (NKey, a `SV…` seed, or None to generate one).
    cluster_seed: the `SC…` seed it signs invocations with (None: generate one).
    cluster_issuers: cluster public keys it trusts besides its own.
    host_id: the host id it puts on invocations (default: a fresh `N…` key of its own).
    js_domain: JetStream domain of the object store used for payloads over 900 KiB.
    """

    def __init__(self, servers: str | list[str], *, lattice: str = "default",
                 provider_key: NKey | str | None = None, contract_id: str = "wasmcloud:testing",
                 link_name: str = "default", cluster_seed: str | None = None,
                 cluster_issuers: Iterable[str] = (), host_id: str | None = None,
                 js_domain: str | None = None, chunk_threshold: int = CHUNK_THRESHOLD):
        self.servers = [servers] if isinstance(servers, str) else list(servers)
        self.lattice = lattice
        if isinstance(provider_key, str):
            provider_key = NKey.from_seed(provider_key)
        self.key = provider_key or NKey.generate("V")
        self.contract_id = contract_id
        self.link_name = link_name
        self.cluster = NKey.from_seed(cluster_seed) if cluster_seed else NKey.generate("C")
        self.cluster_issuers = {self.cluster.public_key, *cluster_issuers}
        self.host_id = host_id or NKey.generate("N").public_key
        self.js_domain = js_domain
        self.chunk_threshold = chunk_threshold
        self.handlers: dict[str, Handler] = {}
        self.invocations: list[InvocationRecord] = []
        self.links: dict[str, dict] = {}
        self.linkdef_puts: list[dict] = []
        self.linkdef_dels: list[dict] = []
        self.health_checks = 0
        self.healthy = True
        self.health_message = "healthy"
        self.shutdown_requests: list[dict] = []
        self.bad_messages: list[tuple[str, str]] = []
        self._nc = None
        self._subs: list = []
        self._tasks: set[asyncio.Task] = set()

    @property
    def public_key(self) -> str:
        return self.key.public_key

    @property
    def entity(self) -> dict:
        return provider_entity(self.public_key, self.contract_id, self.link_name)

    @property
    def rpc_subject(self) -> str:
        return f"wasmbus.rpc.{self.lattice}.{self.public_key}.{self.link_name}"

    @property
    def connection(self):
        """The provider's own nats-py client (for a test that needs to publish beside it)."""
        return self._nc

    async def start(self) -> PlainProvider:
        self._nc = await nats.connect(servers=self.servers, name="latticekit-provider")
        base = self.rpc_subject
        self._subs = [
            await self._nc.subscribe(base, queue="rpc", cb=self._spawn(self._on_invocation)),
            await self._nc.subscribe(f"{base}.linkdefs.put", cb=self._on_linkdef_put),
            await self._nc.subscribe(f"{base}.linkdefs.del", cb=self._on_linkdef_del),
            await self._nc.subscribe(f"{base}.health", cb=self._on_health),
            # In a task of its own: unsubscribing from inside the subscription's own
            # callback would cancel that callback.
            await self._nc.subscribe(f"{base}.shutdown", cb=self._spawn(self._on_shutdown)),
        ]
        await flush_all(self._nc)
        return self

    async def stop(self) -> None:
        nc, self._nc = self._nc, None
        for task in list(self._tasks):
            task.cancel()
        if nc is not None and not nc.is_closed:
            await nc.close()

    async def __aenter__(self) -> PlainProvider:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _spawn(self, handler):
        # One task per message, so a slow handler does not hold up the invocations behind it.
        async def cb(msg):
            task = asyncio.create_task(handler(msg))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return cb

    # -- inbound -------------------------------------------------------------------------

    async def _on_invocation(self, msg) -> None:
        record = InvocationRecord(msg.subject, msg.headers)
        self.invocations.append(record)
        try:
            inv = unpack(msg.data)
        except ValueError as exc:
            await self._respond(msg, record, _response("", b"", f"invalid invocation: {exc}"))
            return
        record.invocation = inv
        inv_id = inv.get("id") if isinstance(inv.get("id"), str) else ""
        record.checks = check_invocation(inv, self.cluster_issuers)
        if not record.checks.passed:
            await self._respond(msg, record, _response(inv_id, b"", record.checks.error
                                                       or "Anti-forgery check failed"))
            return
        try:
            payload = await self._whole_msg(inv, inv_id, record)
            handler = self.handlers.get(inv.get("operation"), echo)
            answer = handler(dict(inv, msg=payload))
            if inspect.isawaitable(answer):
                answer = await answer
            answer = bytes(answer)
        except Exception as exc:  # a handler's failure is the caller's error response
            await self._respond(msg, record, _response(inv_id, b"", f"{exc}"))
            return
        body = answer
        if len(answer) > self.chunk_threshold:
            await self._put_object(f"{inv_id}-r", answer)
            body = b""
        await self._respond(msg, record, _response(inv_id, body, None, len(answer)))

    async def _whole_msg(self, inv: dict, inv_id: str, record: InvocationRecord) -> bytes:
        payload = inv.get("msg") or b""
        length = inv.get("content_length")
        if not payload and isinstance(length, int) and length > 0:
            payload = await self._take_object(inv_id)
            record.chunked = True
        record.payload = payload
        return payload

    async def _respond(self, msg, record: InvocationRecord, response: dict) -> None:
        record.response = response
        if msg.reply:
            await self._nc.publish(msg.reply, pack(response))

    async def _on_linkdef_put(self, msg) -> None:
        link = self._decode_link(msg)
        if link is not None:
            self.linkdef_puts.append(link)
            self.links[link["id"]] = link  # a repeated put just replaces the same entry

    async def _on_linkdef_del(self, msg) -> None:
        link = self._decode_link(msg)
        if link is not None:
            self.linkdef_dels.append(link)
            self.links.pop(link["id"], None)

    def _decode_link(self, msg) -> dict | None:
        try:
            link = msgpack.unpackb(msg.data, raw=False)
            if not isinstance(link, dict) or not isinstance(link.get("actor_id"), str):
                raise ValueError("not a LinkDefinition map with actor_id")
            link.setdefault("contract_id", self.contract_id)
            link.setdefault("link_name", self.link_name)
            link.setdefault("id", link_id(link["actor_id"], link["contract_id"],
                                          link["link_name"]))
        except Exception as exc:  # garbage on a subject is recorded, never fatal
            self.bad_messages.append((msg.subject, f"{exc}"))
            return None
        return link

    async def _on_health(self, msg) -> None:
        self.health_checks += 1
        if msg.reply:
            await self._nc.publish(msg.reply, msgpack.packb(
                {"healthy": self.healthy, "message": self.health_message}))

    async def _on_shutdown(self, msg) -> None:
        try:
            request = json.loads(msg.data)
            if not isinstance(request, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:  # not a shutdown request: keep serving
            self.bad_messages.append((msg.subject, f"{exc}"))
            return
        self.shutdown_requests.append(request)
        for sub in self._subs:  # a provider told to shut down stops listening...
            await sub.unsubscribe()
        self._subs = []
        await flush_all(self._nc)  # ...before it says so, so nothing reaches it afterwards
        if msg.reply:
            await self._nc.publish(msg.reply, b"shutting down")

    # -- outbound ------------------------------------------------------------------------

    def build_invocation(self, actor_pk: str, operation: str, msg: bytes = b"") -> dict:
        """A properly signed Invocation map from this provider to the actor `actor_pk`."""
        return build_invocation(self.cluster, self.entity, actor_entity(actor_pk), operation,
                                msg, self.host_id)

    def forge(self, kind: str, actor_pk: str, operation: str, msg: bytes = b"") -> bytes:
        """A packed invocation to `actor_pk` broken as `kind` says (antiforgery.FORGERIES)."""
        return pack(forge(kind, self.cluster, self.entity, actor_entity(actor_pk), operation,
                          msg, self.host_id))

    async def invoke_actor(self, actor_pk: str, operation: str, msg: bytes = b"", *,
                           timeout: float = 5.0, headers: dict | None = None,
                           responder_wait: float = 0.0) -> dict:
        """Invoke `operation` on the actor and return its decoded InvocationResponse, `msg`
        as bytes (fetched from the object store when the answer was chunked).

        `responder_wait`: for that many seconds, a "no responders" answer is retried (the
        actor's subscription may still be crossing routes). Raises TimeoutError or
        ActorUnreachable (a nats.errors.NoRespondersError), each naming the actor.
        """
        inv = self.build_invocation(actor_pk, operation, msg)
        if len(msg) > self.chunk_threshold:
            await self._put_object(inv["id"], bytes(msg))
            inv["msg"] = b""
        response = await self.send(actor_pk, pack(inv), timeout=timeout, headers=headers,
                                   responder_wait=responder_wait)
        length = response.get("content_length")
        if (not response["msg"] and "error" not in response and isinstance(length, int)
                and length > 0):
            response["msg"] = await self._take_object(f"{inv['id']}-r")
        return response

    async def send(self, actor_pk: str, packed: bytes, *, timeout: float = 5.0,
                   headers: dict | None = None, responder_wait: float = 0.0) -> dict:
        """Request `packed` (an Invocation, forged or not) on the actor's subject; return the
        reply decoded as strictly as wasmCloud's Go provider SDK does, `msg` as bytes."""
        subject = f"wasmbus.rpc.{self.lattice}.{actor_pk}"
        deadline = time.monotonic() + responder_wait
        while True:
            try:
                reply = await self._nc.request(subject, packed, timeout=timeout,
                                               headers=headers)
                break
            except NoRespondersError:
                if time.monotonic() >= deadline:
                    raise ActorUnreachable(f"no responders on {subject}")
                await asyncio.sleep(0.05)
            except NatsTimeout:
                raise TimeoutError(f"actor {actor_pk} did not answer within {timeout:g} s")
        return unpack_response(reply.data)

    # -- object store (payloads over the threshold) --------------------------------------

    async def _store(self):
        js = self._nc.jetstream(domain=self.js_domain)
        try:
            return await js.object_store(self.lattice)
        except Exception:  # nats-py raises NotFoundError or BucketNotFoundError by version
            return await js.create_object_store(self.lattice)

    async def _put_object(self, name: str, data: bytes) -> None:
        await (await self._store()).put(name, data)

    async def _take_object(self, name: str) -> bytes:
        store = await self._store()
        data = (await store.get(name)).data or b""
        await store.delete(name)
        return data

    # -- waiting in tests ----------------------------------------------------------------

    async def wait_for_invocations(self, count: int = 1, timeout: float = 5.0
                                   ) -> list[InvocationRecord]:
        """The first `count` invocation records, once that many arrived (TimeoutError if not)."""
        await _until(lambda: len(self.invocations) >= count and all(
            r.response is not None for r in self.invocations[:count]), timeout,
            f"{count} invocation(s) on {self.rpc_subject}")
        return self.invocations[:count]

    async def wait_for_link(self, actor_id: str, timeout: float = 5.0) -> dict:
        """The LinkDefinition put for `actor_id` (TimeoutError naming it if none comes)."""
        def find():
            return next((v for v in self.links.values() if v["actor_id"] == actor_id), None)
        await _until(find, timeout, f"a linkdefs.put for actor {actor_id}")
        return find()


def _response(inv_id: str, msg: bytes, error: str | None, length: int | None = None) -> dict:
    response = {"msg": msg, "invocation_id": inv_id,
                "content_length": len(msg) if length is None else length}
    if error is not None:
        response["error"] = error  # a success must carry no error key at all
    return response


async def _until(probe, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} within {timeout:g} s")
        await asyncio.sleep(0.01)
