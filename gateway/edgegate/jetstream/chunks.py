"""Payloads too big for one NATS message, kept in the lattice's JetStream object store `{L}`."""

from __future__ import annotations

import asyncio
import logging

from nats.aio.client import Client as NATS
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.errors import (
    BadRequestError,
    InvalidBucketNameError,
    NotFoundError,
    ServiceUnavailableError,
)
from nats.js.errors import Error as JetStreamError
from nats.js.object_store import ObjectStore

from edgegate.jetstream.metadata import STREAM_NAME_IN_USE, no_jetstream

log = logging.getLogger(__name__)

# The OTP host moves an outbound invocation's msg over 700 KiB to the store; wasmbus-rpc
# (providers) does so for invocations and responses over 900 KiB. Both are read on input.
INVOCATION_CHUNK_THRESHOLD = 700 * 1024
RESPONSE_CHUNK_THRESHOLD = 900 * 1024
RESPONSE_SUFFIX = "-r"


class ChunkError(RuntimeError):
    """A payload could not be stored in or read from the object store; the message says which."""


def needs_chunking(size: int, threshold: int) -> bool:
    """True when a payload of `size` bytes goes through the store (strictly over the limit)."""
    return size > threshold


def response_object(invocation_id: str) -> str:
    """The object a chunked response is stored under: the invocation id plus `-r`."""
    return invocation_id + RESPONSE_SUFFIX


class PayloadStore:
    """The object store named after the lattice, created with default settings when absent,
    as the OTP host and wasmbus-rpc do. Objects are named by invocation id (`{id}-r` for a
    response); whoever reads one deletes it (`take`)."""

    def __init__(
        self, nc: NATS, lattice: str, js_domain: str | None = None, timeout: float = 10.0
    ):
        self.lattice = lattice
        self.timeout = timeout
        self.js_domain = js_domain or None
        self._js = nc.jetstream(domain=self.js_domain, timeout=timeout)
        self._store: ObjectStore | None = None
        self._opening = asyncio.Lock()

    async def _open(self) -> ObjectStore:
        async with self._opening:
            if self._store is None:
                try:
                    self._store = await self._js.create_object_store(self.lattice)
                except InvalidBucketNameError:
                    raise ChunkError(
                        f"lattice prefix {self.lattice!r} cannot name an object store "
                        "(letters, digits, '-' and '_' only)"
                    )
                except BadRequestError as exc:
                    # It exists with settings of another client's defaults: use it as it is.
                    if exc.err_code != STREAM_NAME_IN_USE:
                        raise ChunkError(
                            f"cannot create object store {self.lattice!r}: {exc.description}"
                        )
                    self._store = await self._js.object_store(self.lattice)
                except (ServiceUnavailableError, NatsTimeoutError):
                    raise ChunkError(
                        f"cannot open object store {self.lattice!r}: {no_jetstream(self.js_domain)}"
                    )
            return self._store

    async def put(self, name: str, data: bytes) -> None:
        store = await self._open()
        try:
            await asyncio.wait_for(store.put(name, data), self.timeout)
        except asyncio.TimeoutError:
            raise ChunkError(
                f"storing payload {name!r} ({len(data)} bytes) in object store "
                f"{self.lattice!r} took over {self.timeout:g} s"
            )
        except NotFoundError:
            self._store = None  # the store is gone (a server that lost it): make it anew next time
            raise ChunkError(
                f"storing payload {name!r}: object store {self.lattice!r} is gone; "
                "it is made again on the next attempt"
            )
        except JetStreamError as exc:  # e.g. the store is full
            raise ChunkError(
                f"storing payload {name!r} ({len(data)} bytes) in object store "
                f"{self.lattice!r} failed: {getattr(exc, 'description', None) or exc}"
            )

    async def get(self, name: str, timeout: float | None = None) -> bytes:
        """The payload stored as `name`; ChunkError when it is missing or slow to arrive."""
        store = await self._open()
        limit = self.timeout if timeout is None else timeout
        try:
            result = await asyncio.wait_for(store.get(name), limit)
        except NotFoundError:
            raise ChunkError(f"payload {name!r} is not in object store {self.lattice!r}")
        except asyncio.TimeoutError:
            raise ChunkError(
                f"reading payload {name!r} from object store {self.lattice!r} "
                f"took over {limit:g} s"
            )
        except JetStreamError as exc:  # a corrupt object: bad metadata, digest mismatch
            raise ChunkError(
                f"payload {name!r} in object store {self.lattice!r} is unreadable: "
                f"{type(exc).__name__}"
            )
        return bytes(result.data or b"")

    async def delete(self, name: str) -> None:
        """Remove `name`; one that is already gone is not an error."""
        store = await self._open()
        try:
            await store.delete(name)
        except NotFoundError:
            pass

    async def take(self, name: str, timeout: float | None = None) -> bytes:
        """Read `name` and delete it, as a receiver does; a failed delete is only logged."""
        data = await self.get(name, timeout)
        try:
            await self.delete(name)
        except Exception as exc:
            log.warning("read payload %r but could not delete it: %s", name, exc)
        return data
