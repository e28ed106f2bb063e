"""A client of the wasmCloud control interface: requests, gathers, events, invocations."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import nats
from nats.aio.client import Client

from edgegate.wascap.keys import InvalidKeyError, public_key_kind


class CtlError(Exception):
    """A control request that failed; the message is one line for the user."""


class CtlClient:
    def __init__(self, nc: Client, lattice: str, ctl_prefix: str, timeout: float):
        self.nc = nc
        self.lattice = lattice
        self.ctl_prefix = ctl_prefix
        self.timeout = timeout

    def subject(self, *parts: str) -> str:
        return ".".join((self.ctl_prefix, self.lattice, *parts))

    async def request(self, *parts: str, body: dict[str, Any] | None = None) -> Any:
        subject = self.subject(*parts)
        data = b"" if body is None else json.dumps(body).encode()
        try:
            reply = await self.nc.request(subject, data, timeout=self.timeout)
        except nats.errors.NoRespondersError:
            raise CtlError(self._unanswered(parts, "no host answers it")) from None
        except nats.errors.TimeoutError:
            raise CtlError(self._unanswered(parts, f"no answer within {self.timeout:g} s")) \
                from None
        try:
            return json.loads(reply.data)
        except ValueError:
            raise CtlError(f"{subject}: the answer is not JSON") from None

    def _unanswered(self, parts: tuple[str, ...], why: str) -> str:
        """A request nobody answered: the host it named may not be on this lattice at all."""
        named = [part for part in parts if _is_host_key(part)]
        if not named:
            return f"{self.subject(*parts)}: {why} on lattice {self.lattice!r}"
        return (f"host {named[0]}: {why} on lattice {self.lattice!r} (`edgehost ctl get hosts` "
                f"lists its hosts)")

    async def command(self, *parts: str, body: dict[str, Any]) -> None:
        """A request answered by an ack; CtlError with the host's error when refused."""
        ack = await self.request(*parts, body=body)
        if not isinstance(ack, dict) or not ack.get("accepted"):
            error = ack.get("error") if isinstance(ack, dict) else ack
            raise CtlError(f"{'.'.join(parts)}: refused: {error}")

    async def gather(self, *parts: str, body: dict[str, Any] | None = None) -> list[Any]:
        """Every answer that comes within the timeout (pings, auctions)."""
        inbox = self.nc.new_inbox()
        sub = await self.nc.subscribe(inbox)
        data = b"" if body is None else json.dumps(body).encode()
        await self.nc.publish(self.subject(*parts), data, reply=inbox)
        answers = []
        deadline = time.monotonic() + self.timeout
        try:
            while (left := deadline - time.monotonic()) > 0:
                try:
                    msg = await sub.next_msg(timeout=left)
                except nats.errors.TimeoutError:
                    break
                if msg.data:  # an empty one is NATS saying nobody listens
                    try:
                        answers.append(json.loads(msg.data))
                    except ValueError:
                        continue
        finally:
            await sub.unsubscribe()
        return answers

    async def host_id(self, given: str) -> str:
        """The full id of the one host whose id starts with `given`: tables and the live view
        show ids cut short, and a full id is taken as it is (its host says if it is gone)."""
        if _is_host_key(given):
            return given
        return matching_host(await self.gather("ping.hosts"), given, self)["id"]

    async def events(self) -> asyncio.Queue[dict[str, Any]]:
        """The lattice's events from now on, as a queue of CloudEvents."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        async def keep(msg: Any) -> None:
            try:
                queue.put_nowait(json.loads(msg.data))
            except ValueError:
                pass

        await self.nc.subscribe(f"wasmbus.evt.{self.lattice}", cb=keep)
        return queue


def _is_host_key(text: str) -> bool:
    try:
        return public_key_kind(text) == "server"
    except InvalidKeyError:
        return False


def matching_host(hosts: list[Any], given: str, ctl: CtlClient) -> dict[str, Any]:
    """The ping answer of the one host whose id starts with `given` (a trailing … ignored)."""
    prefix = given.rstrip("…").upper()
    hosts = [h for h in hosts if isinstance(h, dict) and isinstance(h.get("id"), str)]
    found = [h for h in hosts if prefix and h["id"].startswith(prefix)]
    if len(found) == 1:
        return found[0]
    if found:
        ids = ", ".join(sorted(h["id"][:len(prefix) + 4] + "…" for h in found))
        raise CtlError(f"host {given}: {len(found)} hosts have ids that start so ({ids}); "
                       f"give more of the id")
    answered = (f"{len(hosts)} answered within {ctl.timeout:g} s; `edgehost ctl get hosts` "
                f"lists them" if hosts else f"none answered within {ctl.timeout:g} s")
    raise CtlError(f"host {given}: no host on lattice {ctl.lattice!r} has an id that starts "
                   f"so ({answered})")


async def start_outcome(events: asyncio.Queue[dict[str, Any]], host_id: str, ref: str,
                        timeout: float, started: str = "actors_started",
                        failed: str = "actor_start_failed",
                        failed_ref: str = "actor_ref") -> dict[str, Any]:
    """The started or start-failed event of this start (of an actor, or of a provider)."""
    deadline = time.monotonic() + max(timeout, 30.0)  # a fetch and an upload take a while
    while (left := deadline - time.monotonic()) > 0:
        try:
            event = await asyncio.wait_for(events.get(), left)
        except TimeoutError:
            break
        name = str(event.get("type", "")).rsplit(".", 1)[-1]
        data = event.get("data") or {}
        if event.get("source") != host_id:
            continue
        if name == started and data.get("image_ref") == ref:
            return event
        if name == failed and data.get(failed_ref) == ref:
            return event
    what = "actor" if started == "actors_started" else "provider"
    raise CtlError(f"start {what} {ref}: accepted by {host_id}, but it did not say it "
                   f"started or failed")
