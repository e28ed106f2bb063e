"""Child processes that end with the process that started them, even one killed outright.

On Linux the kernel does it (PR_SET_PDEATHSIG): the child gets SIGKILL when its parent ends,
whatever the child is doing, even running C code that holds the GIL. The signal comes when the
*thread* that started the child ends, so start such children from a thread that lives as long
as they should. Elsewhere a Python child watches its parent's pid from a thread (which runs
only while the GIL is free), and other children are left to their parent's own stop.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
PARENT_POLL_S = 0.5
GRACE_S = 5.0  # how long a process told to stop may take before it is ended


def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def die_with_parent(parent_pid: int) -> None:
    """End this (Python) process when `parent_pid`, its parent, ends."""
    prctl = _prctl()
    if prctl is None or prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        _watch(lambda: os.getppid() != parent_pid, lambda: os._exit(1), PARENT_POLL_S)
    if os.getppid() != parent_pid:
        os._exit(1)  # the parent ended before the kernel was told


def ends_with_this_process() -> Callable[[], None] | None:
    """A `preexec_fn` for subprocess.Popen: the child, whatever program it runs, is killed when
    this process ends. None where the kernel cannot do that."""
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def preexec() -> None:  # runs in the child between fork and exec: nothing to import
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return preexec


def stop_when_stdin_closes() -> None:
    """Stop this process as SIGTERM does once stdin reaches its end: the parent that holds
    the pipe's other end has closed it or ended, however it ended. A process that has not
    stopped GRACE_S later is ended."""
    def closed() -> bool:
        try:
            return not os.read(sys.stdin.fileno(), 4096)
        except OSError:
            return True

    def stop() -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(GRACE_S)
        os._exit(1)

    _watch(closed, stop, 0)


def _watch(gone: Callable[[], bool], then: Callable[[], None], pause: float) -> None:
    def watch() -> None:
        while not gone():
            time.sleep(pause)
        then()

    threading.Thread(target=watch, name="edgehost-lifeline", daemon=True).start()
