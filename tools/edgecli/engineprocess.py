"""The simulator's wasm engine: each instance in a process of its own, so a call can be stopped.

pywasm3 holds the GIL while the guest runs and has no way to stop a call: an actor that loops
would wedge a simulated board for good (no signal handler runs, no other thread either). The
board's own wasm3 module traps with "deadline exceeded" instead (see firmware/cmodules/wasm3).
To behave the same, the simulator runs every instance in a child process that serves the
edgehost.engine shape over a pipe; the waPC host and its host functions stay in the board's
process, so nothing above the engine knows. A call that runs past its deadline kills the child
and traps; the waPC host then rebuilds the instance, as on the board. The child counts only
guest time against the deadline, as the board does: time spent in a host function is not.

Why a process per instance and not one for the board: killing a runaway must not take the
other actors' state with it. Each child dies with its parent (edgegate.lifeline), so no
instance outlives a simulator that was killed.

The messages are marshal-encoded tuples, each after its length (4 bytes, little-endian).
"""

from __future__ import annotations

import marshal
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from edgegate import lifeline
from edgehost.engine import EngineError, trap_cause

# the child's program; the caller's folder (sys.path[0]) must not change what it imports
CHILD = ("import sys; del sys.path[0]; from edgecli.engineprocess import child_main; "
         "child_main(int(sys.argv[1]))")
DEADLINE_TRAP = "[trap] deadline exceeded"
STOPPING_TRAP = "[trap] the board is stopping"


class PipeClosed(Exception):
    """The other end of the pipe is gone: a child killed at its deadline or crashed, or the
    parent."""


class Pipe:
    """Length-prefixed marshal messages over a pair of file descriptors."""

    def __init__(self, read_fd: int, write_fd: int):
        self.read_fd = read_fd
        self.write_fd = write_fd

    def send(self, message: tuple[Any, ...]) -> None:
        data = marshal.dumps(message)
        data = len(data).to_bytes(4, "little") + data
        try:
            while data:
                data = data[os.write(self.write_fd, data):]
        except OSError as exc:  # a broken pipe: the other side is gone
            raise PipeClosed(str(exc)) from None

    def _read(self, size: int) -> bytes:
        chunks = []
        while size:
            try:
                chunk = os.read(self.read_fd, size)
            except OSError as exc:
                raise PipeClosed(str(exc)) from None
            if not chunk:
                raise PipeClosed("end of the pipe")
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def ready(self, timeout: float | None) -> bool:
        """True when a message (or the end of the pipe) can be read within `timeout` s."""
        return bool(select.select([self.read_fd], [], [], timeout)[0])

    def receive(self) -> tuple[Any, ...]:
        size = int.from_bytes(self._read(4), "little")
        return marshal.loads(self._read(size))


class GuestMemory:
    """Linear memory of an instance in a child, as the slice of a memoryview the waPC exchange
    reads and writes: reads ask the child, writes go without waiting (the pipe keeps them in
    order before whatever comes next). Valid while the host function that fetched it runs."""

    def __init__(self, instance: Instance, size: int):
        self._instance = instance
        self._size = size

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, index: slice) -> bytes:
        start, stop, _ = index.indices(self._size)
        if stop <= start:
            return b""
        return self._instance._ask(("read", start, stop))

    def __setitem__(self, index: slice, data: Any) -> None:
        start, stop, _ = index.indices(self._size)
        if max(stop - start, 0) != len(data):
            raise ValueError("memoryview assignment: lvalue and rvalue have different "
                             "structures")
        self._instance._pipe.send(("write", start, bytes(data)))


class Instance:
    """edgehost.engine.Instance's shape, served by a child process; see the module's doc."""

    def __init__(self, module_bytes: Any, stack_bytes: int, memory_pages: int = 0,
                 deadline_ms: int = 0, engine: ProcessEngine | None = None):
        self._engine = engine
        self._deadline_s = deadline_ms / 1000 if deadline_ms else None
        self._functions: list[Callable[..., Any]] = []
        self._memory_size: int | None = None  # known while a host function runs
        self._process = subprocess.Popen([sys.executable, "-c", CHILD, str(os.getpid())],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._pipe = Pipe(self._process.stdout.fileno(), self._process.stdin.fileno())
        try:
            self._ask(("load", bytes(module_bytes), stack_bytes))
        except BaseException:
            self.close()
            raise

    def _ask(self, message: tuple[Any, ...]) -> Any:
        """Send a request the child answers at once; its answer, or EngineError."""
        try:
            self._pipe.send(message)
            kind, value = self._pipe.receive()
        except PipeClosed as exc:
            raise EngineError(f"the engine's process ended: {exc}") from None
        if kind == "error":
            raise EngineError(value)
        return value

    def link_function(self, module: str, name: str, signature: str,
                      fn: Callable[..., Any]) -> None:
        self._functions.append(fn)
        self._ask(("link", module, name, signature, len(self._functions) - 1))

    def exchange(self, max_payload: int, max_log: int, on_log: Any) -> None:
        """No engine-side waPC exchange: the host's Python one serves the guest."""
        return None

    def find_function(self, name: str) -> Callable[..., Any]:
        self._ask(("find", name))
        return lambda *args: self._call(name, args)

    def get_memory(self, index: int) -> GuestMemory:
        size = self._memory_size
        return GuestMemory(self, self._ask(("size", index)) if size is None else size)

    def _call(self, name: str, args: tuple[Any, ...]) -> Any:
        if self._engine is not None and self._engine.stopped:
            raise RuntimeError(STOPPING_TRAP)
        try:
            self._pipe.send(("call", name, args))
            return self._run_guest()
        except PipeClosed:
            self.kill()
            if self._engine is not None and self._engine.stopped:
                raise RuntimeError(STOPPING_TRAP) from None
            raise RuntimeError(f"[trap] the engine's process ended "
                               f"(status {self._process.wait()})") from None

    def _run_guest(self) -> Any:
        """Serve the guest's host calls until its call ends; the guest's time is limited."""
        left = self._deadline_s
        failure: BaseException | None = None
        while True:
            started = time.monotonic()
            if not self._pipe.ready(left):
                self.kill()
                raise RuntimeError(DEADLINE_TRAP)
            kind, *rest = self._pipe.receive()
            if left is not None:
                left = max(left - (time.monotonic() - started), 0.0)
            if kind == "host":
                failure = self._serve_host_function(*rest)
            elif kind == "done":
                return rest[0]
            elif failure is not None:
                raise failure  # the host function's own error, as pywasm3 raises it
            else:
                raise RuntimeError(rest[0])

    def _serve_host_function(self, index: int, args: tuple[Any, ...],
                             memory_size: int) -> BaseException | None:
        self._memory_size = memory_size
        try:
            result = self._functions[index](*args)
        except Exception as exc:
            self._pipe.send(("raise", str(exc)))
            return exc
        finally:
            self._memory_size = None
        self._pipe.send(("return", result))
        return None

    def kill(self) -> None:
        """End the child now (it may be in a call); close() still has to be called."""
        if self._process.poll() is None:
            self._process.kill()

    def close(self) -> None:
        self.kill()
        self._process.wait()
        for stream in (self._process.stdin, self._process.stdout):
            try:
                stream.close()
            except OSError:
                pass  # the pipe to a killed child may fail to flush
        if self._engine is not None:
            self._engine.closed(self)


class ProcessEngine:
    """An engine in edgehost.engine's shape whose instances run in child processes.

    `stop()` kills every instance now, whatever it is doing: a call in progress then traps
    and no new instance starts (the board is going away). It only sends signals, so a signal
    handler or another thread may call it; `close()` also waits for the children.
    """

    EngineError = EngineError
    trap_cause = staticmethod(trap_cause)

    def __init__(self) -> None:
        self.stopped = False
        self._live: set[Instance] = set()

    def Instance(self, module_bytes: Any, stack_bytes: int, memory_pages: int = 0,  # noqa: N802
                 deadline_ms: int = 0) -> Instance:
        if self.stopped:
            raise EngineError("the board is stopping")
        instance = Instance(module_bytes, stack_bytes, memory_pages, deadline_ms, self)
        self._live.add(instance)
        return instance

    def closed(self, instance: Instance) -> None:
        self._live.discard(instance)

    def stop(self) -> None:
        self.stopped = True
        for instance in list(self._live):
            instance.kill()

    def close(self) -> None:
        """stop(), and wait for every child: none is left a zombie."""
        self.stop()
        for instance in list(self._live):
            instance.close()


# -- the child's side ----------------------------------------------------------------------


class HostFailure(Exception):
    """A host function failed in the parent; raised into the guest, which then traps."""


class Child:
    """One pywasm3 instance, served to the parent over stdin and stdout."""

    def __init__(self, pipe: Pipe):
        self.pipe = pipe
        self.instance: Any = None
        self.functions: dict[str, Any] = {}

    def memory(self) -> Any:
        try:
            return self.instance.get_memory(0)
        except RuntimeError:  # a module without memory
            return b""

    def serve_memory(self, kind: str, args: list[Any]) -> bool:
        """Serve a read, write or size request; False for any other message."""
        if kind == "read":
            self.pipe.send(("data", bytes(self.memory()[args[0]:args[1]])))
        elif kind == "write":
            self.memory()[args[0]:args[0] + len(args[1])] = args[1]
        elif kind == "size":
            self.pipe.send(("size", len(self.memory())))
        else:
            return False
        return True

    def host_function(self, index: int) -> Callable[..., Any]:
        def call_parent(*args: Any) -> Any:
            self.pipe.send(("host", index, args, len(self.memory())))
            while True:
                kind, *rest = self.pipe.receive()
                if self.serve_memory(kind, rest):
                    continue
                if kind == "return":
                    return rest[0]
                raise HostFailure(rest[0])
        return call_parent

    def handle(self, kind: str, args: list[Any]) -> None:
        from edgehost.engine import Instance as Pywasm3Instance

        if self.serve_memory(kind, args):
            return
        if kind == "call":
            try:
                result = self.functions[args[0]](*args[1])
            except Exception as exc:
                self.pipe.send(("trap", str(exc)))
            else:
                self.pipe.send(("done", result))
            return
        try:
            if kind == "load":
                self.instance = Pywasm3Instance(args[0], args[1])
            elif kind == "link":
                self.instance.link_function(args[0], args[1], args[2],
                                            self.host_function(args[3]))
            elif kind == "find":
                self.functions[args[0]] = self.instance.find_function(args[0])
        except EngineError as exc:
            self.pipe.send(("error", str(exc)))
        else:
            self.pipe.send(("ok", None))


def child_main(parent_pid: int) -> None:
    # the parent stops this process; Ctrl-C in a terminal reaches the whole process group
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    lifeline.die_with_parent(parent_pid)
    pipe = Pipe(sys.stdin.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr  # nothing printed may land in the pipe
    child = Child(pipe)
    try:
        while True:
            kind, *args = pipe.receive()
            child.handle(kind, args)
    except PipeClosed:
        pass  # the parent closed the pipe
