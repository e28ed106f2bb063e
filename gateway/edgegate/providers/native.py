"""One native provider process on the gateway's machine: started, health-checked, restarted
when it dies (with backoff), and shut down (shutdown request, then a signal, then a kill)."""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import signal
import uuid
from dataclasses import dataclass
from typing import Any

import msgpack
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from edgegate.lattice import Lattice
from edgegate.providers.archive import ReadyProvider
from edgegate.providers.hostdata import HostDataError, host_data, stdin_line

log = logging.getLogger(__name__)

FIRST_HEALTH_SECONDS = 5.0  # as the OTP host: the first check 5 s after start
HEALTH_SECONDS = 30.0  # then every 30 s
KEPT_LINES = 5  # of its stderr, to say why a provider exited


@dataclass
class ProviderTimings:
    health_every: float = HEALTH_SECONDS
    settle: float = 1.0  # a provider that exits within this after its start failed to start
    shutdown: float = 2.0  # for the answer to the shutdown request, and for the exit after it
    terminate: float = 2.0  # after SIGTERM, before SIGKILL
    backoff_first: float = 1.0
    backoff_max: float = 30.0

    @property
    def first_health(self) -> float:
        return min(FIRST_HEALTH_SECONDS, self.health_every)


class ProviderStartFailed(Exception):
    """The provider did not start; the message is the one-line reason."""


class NativeProvider:
    """A provider binary run for one host and link name, until `stop()`."""

    def __init__(self, lattice: Lattice, host_id: str, ready: ReadyProvider, image_ref: str,
                 link_name: str, configuration: str | None, annotations: dict[str, str],
                 timings: ProviderTimings):
        self.lattice = lattice
        self.host_id = host_id
        self.ready = ready
        self.key = ready.key
        self.contract_id = ready.contract_id
        self.image_ref = image_ref
        self.link_name = link_name
        self.configuration = configuration
        self.annotations = annotations
        self.timings = timings
        self.instance_id = ""  # made afresh by each start
        self.process: asyncio.subprocess.Process | None = None
        self.healthy: bool | None = None  # None until the first check
        self.restarts = 0
        self.stopping = False
        self._stderr: collections.deque[str] = collections.deque(maxlen=KEPT_LINES)
        self._tasks: list[asyncio.Task[Any]] = []
        self._readers: list[asyncio.Task[None]] = []

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def subject(self, *parts: str) -> str:
        return self.lattice.rpc_subject(self.key, self.link_name, *parts)

    def identity(self) -> dict[str, str]:
        return {"public_key": self.key, "link_name": self.link_name,
                "contract_id": self.contract_id}

    # -- start

    async def start(self) -> None:
        """Run it and wait the settle time; ProviderStartFailed if it exits meanwhile."""
        try:
            await self._spawn()
        except ProviderStartFailed:
            self._remove_binary()
            raise
        assert self.process is not None
        try:
            code = await asyncio.wait_for(self.process.wait(), self.timings.settle)
        except TimeoutError:
            code = None
        except asyncio.CancelledError:  # the gateway stops while this one starts
            self._kill_now()
            raise
        if code is not None:
            await self._drain_output()
            self._remove_binary()
            raise ProviderStartFailed(self._exit_reason(code, "at once"))
        await self._event("provider_started", self._started_data())
        self._tasks = [asyncio.create_task(self._supervise()),
                       asyncio.create_task(self._health_checks())]

    async def _spawn(self) -> None:
        self.instance_id = str(uuid.uuid4())  # each start is a new instance, as the OTP host has it
        links = [ld.to_dict() for ld in
                 self.lattice.metadata.links_for_provider(self.key, self.link_name)]
        try:
            data = host_data(self.lattice.config, self.host_id, self.key, self.link_name,
                             self.instance_id, links, self.configuration)
        except HostDataError as exc:
            raise ProviderStartFailed(f"provider {self.key}: its host data: {exc}") from None
        self._stderr.clear()
        try:
            # a session of its own: Ctrl-C at the gateway's terminal reaches the gateway only,
            # which then shuts its providers down in order
            self.process = await asyncio.create_subprocess_exec(
                str(self.ready.binary), stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                start_new_session=True)
        except OSError as exc:
            raise ProviderStartFailed(f"provider {self.key}: cannot run its binary: "
                                      f"{exc.strerror or exc}") from None
        assert self.process.stdin is not None
        try:
            # stdin stays open: a provider may take its end as the sign the host is gone
            self.process.stdin.write(stdin_line(data))
            await self.process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # it exited already; the settle wait or the supervisor says so
        self._readers = [asyncio.create_task(self._read(self.process.stdout, False)),
                         asyncio.create_task(self._read(self.process.stderr, True))]

    async def _read(self, stream: asyncio.StreamReader | None, keep: bool) -> None:
        if stream is None:
            return
        while True:
            line = await stream.readline()
            if not line:
                return
            text = line.decode(errors="replace").rstrip()
            if keep and text:
                self._stderr.append(text)
            log.info("provider %s (%s): %s", self.key[:8], self.link_name, text)

    async def _drain_output(self) -> None:
        await asyncio.gather(*self._readers, return_exceptions=True)

    def _exit_reason(self, code: int, when: str) -> str:
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        said = f": {self._stderr[-1]}" if self._stderr else ""
        return f"provider {self.key} {how} {when}{said}"

    def _started_data(self) -> dict[str, Any]:
        claims = self.ready.claims
        wascap = self.ready.wascap
        return {**self.identity(), "image_ref": self.image_ref,
                "instance_id": self.instance_id, "annotations": self.annotations,
                "claims": {"issuer": claims.get("iss", ""), "tags": wascap.get("tags") or [],
                           "name": self.ready.name, "version": wascap.get("ver") or "",
                           "not_before_human": "", "expires_human": ""}}

    async def _event(self, name: str, data: dict[str, Any]) -> None:
        await self.lattice.events.publish(name, self.host_id, data)

    # -- supervision

    async def _supervise(self) -> None:
        while not self.stopping:
            assert self.process is not None
            started = asyncio.get_running_loop().time()
            code = await self.process.wait()
            if self.stopping:
                return
            await self._drain_output()
            reason = self._exit_reason(code, "while running")
            log.warning("%s; restarting it", reason)
            self.healthy = None
            await self._event("provider_stopped", {**self.identity(),
                                                   "instance_id": self.instance_id,
                                                   "annotations": self.annotations,
                                                   "reason": reason})
            if asyncio.get_running_loop().time() - started > self.timings.backoff_max:
                self.restarts = 0  # it ran a good while: a fresh start, no long wait
            while not self.stopping:
                self.restarts += 1
                await asyncio.sleep(self._backoff())
                if self.stopping:
                    return
                try:
                    await self._spawn()
                    break
                except ProviderStartFailed as exc:
                    log.warning("%s; trying again", exc)
            if not self.stopping:
                log.info("provider %s restarted (restart %d)", self.key, self.restarts)
                await self._event("provider_started",
                                  {**self._started_data(), "restarts": self.restarts})

    def _backoff(self) -> float:
        return min(self.timings.backoff_first * 2 ** min(self.restarts - 1, 16),
                   self.timings.backoff_max)

    async def _health_checks(self) -> None:
        await asyncio.sleep(self.timings.first_health)
        while not self.stopping:
            passed, why = await self.check_health()
            before, self.healthy = self.healthy, passed
            if passed:
                name = "health_check_passed" if before is not True else "health_check_status"
            else:
                name = "health_check_failed" if before is not False else "health_check_status"
                if before is not False:
                    log.warning("provider %s (%s): health check failed: %s", self.key,
                                self.link_name, why)
            data: dict[str, Any] = self.identity()
            if not passed:
                data["message"] = why
            await self._event(name, data)
            await asyncio.sleep(self.timings.health_every)

    async def check_health(self) -> tuple[bool, str]:
        """(healthy, why not): any answer is healthy unless it says `healthy: false`."""
        timeout = self.lattice.config.rpc_timeout_ms / 1000
        try:
            reply = await self.lattice.rpc.request(
                self.subject("health"), msgpack.packb({"placeholder": True}), timeout=timeout)
        except NoRespondersError:
            return False, "nothing subscribes its health subject"
        except NatsTimeout:
            return False, f"no answer to the health check within {timeout * 1000:.0f} ms"
        except Exception as exc:  # NATS away
            return False, f"the health check could not be sent ({exc})"
        try:
            answer = msgpack.unpackb(reply.data)
        except Exception:
            return True, ""
        if isinstance(answer, dict) and answer.get("healthy") is False:
            return False, f"it says it is unhealthy: {answer.get('message') or 'no reason'}"
        return True, ""

    # -- stop

    async def stop(self, reason: str = "normal") -> None:
        """Shutdown request, then SIGTERM, then SIGKILL; provider_stopped."""
        if self.stopping:
            return
        self.stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        process = self.process
        if process is not None and process.returncode is None:
            await self._shut_down(process)
        await self._drain_output()
        self._remove_binary()
        await self._event("provider_stopped", {**self.identity(),
                                               "instance_id": self.instance_id,
                                               "annotations": self.annotations,
                                               "reason": reason})

    async def _shut_down(self, process: asyncio.subprocess.Process) -> None:
        """The shutdown request, then SIGTERM, then SIGKILL, until the process exits. An exit
        within the grace period is a normal stop, answered or not: wasmCloud's Go provider
        SDK exits on the request without answering it."""
        wait = self.timings.shutdown
        exited = asyncio.ensure_future(process.wait())
        asked = asyncio.ensure_future(self.lattice.rpc.request(
            self.subject("shutdown"), json.dumps({"host_id": self.host_id}).encode(),
            timeout=wait))
        try:
            await asyncio.wait({asked, exited}, return_when=asyncio.FIRST_COMPLETED)
            if await _within(exited, wait):
                return
            log.info("provider %s has not stopped on its shutdown request (%s)", self.key,
                     _outcome(asked))
            for sig, grace in ((signal.SIGTERM, self.timings.terminate), (signal.SIGKILL, wait)):
                try:
                    os.killpg(process.pid, sig)
                except ProcessLookupError:
                    return
                log.info("provider %s: sent %s", self.key, sig.name)
                if await _within(exited, grace):
                    return
        finally:
            for task in (asked, exited):
                task.cancel()
            await asyncio.gather(asked, exited, return_exceptions=True)

    def _kill_now(self) -> None:
        if self.process is not None and self.process.returncode is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._remove_binary()

    def _remove_binary(self) -> None:
        try:
            self.ready.binary.unlink()
        except OSError:
            pass


async def _within(done: asyncio.Future[Any], seconds: float) -> bool:
    """Whether `done` completes within `seconds` (it is not cancelled when it does not)."""
    try:
        await asyncio.wait_for(asyncio.shield(done), seconds)
    except TimeoutError:
        return False
    return True


def _outcome(request: asyncio.Future[Any]) -> str:
    """What came of a request, for the log: answered, or why not."""
    if not request.done() or request.cancelled():
        return "no answer yet"
    exc = request.exception()
    return "it answered" if exc is None else f"no answer: {type(exc).__name__}"
