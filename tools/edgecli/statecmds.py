"""`edgehost down` and `edgehost clean`: what `edgehost up` runs or left in its state folder."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path

from edgecli.output import fail, report
from edgecli.simulator import FlashDir
from edgecli.statedir import state_dir

STOP_SECONDS = 10.0  # up stops its parts within a few seconds; then they are ended


def _state(args: argparse.Namespace) -> Path:
    return Path(args.state_dir) if args.state_dir else state_dir()


def _alive(pid: int) -> bool:
    """Whether `pid` still runs: one that ended and waits for its parent to read its exit
    status (a zombie) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return _stat(pid)[0] != "Z"
    except (OSError, IndexError):
        return True  # no /proc here: it answers signals, so it runs


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command's name: state, parent pid, …"""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _flash_holder(flash: Path) -> int | None:
    """The simulator that holds the flash folder's lock, by pid; None when none does."""
    try:
        with open(flash / FlashDir.LOCK) as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                text = lock.read().strip()
                return int(text) if text.isdigit() else None
            return None
    except OSError:
        return None


def running(state: Path) -> dict[int, str]:
    """What still runs on the state folder: its simulated board and its nats-server, by pid
    (a nats-server removes its ports file when it ends)."""
    found: dict[int, str] = {}
    board = _flash_holder(state / "flash")
    if board is not None:
        found[board] = "the simulated board"
    for ports in (state / "nats" / "ports").glob("*_*.ports"):
        pid = ports.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and _alive(int(pid)):
            found[int(pid)] = "the nats-server"
    return found


def _up_of(pid: int) -> int | None:
    """The `edgehost up` that started `pid`, if it still runs (Linux: from /proc)."""
    try:
        parent = int(_stat(pid)[1])
        command = Path(f"/proc/{parent}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError, IndexError):
        return None
    names = [Path(part.decode(errors="replace")).name for part in command]
    return parent if "up" in names and any("edgehost" in n for n in names) else None


def _wait_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [p for p in pids if _alive(p)]


def down(args: argparse.Namespace) -> int:
    """Stop the `up` that runs on the state folder (it stops its parts itself), or the parts
    an `up` that was killed left running."""
    state = _state(args)
    parts = running(state)
    if not parts:
        report(args, f"nothing of edgehost up runs on {state}",
               {"state_dir": str(state), "stopped": []})
        return 0
    ups = {up for up in map(_up_of, parts) if up is not None}
    for pid in ups or parts:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    left = _wait_gone([*ups, *parts], STOP_SECONDS)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if _wait_gone(left, STOP_SECONDS):
        return fail(f"down {state}: pid {', '.join(map(str, left))} did not end")
    what = ([f"edgehost up (pid {up})" for up in sorted(ups)] +
            [f"{name} (pid {pid})" for pid, name in sorted(parts.items())])
    report(args, f"stopped {', '.join(what)} on {state}",
           {"state_dir": str(state), "stopped": sorted([*ups, *parts])})
    return 0


def clean(args: argparse.Namespace) -> int:
    """Remove the state folder (lattice data, simulated flash, board key, logs); refused
    while anything still runs on it."""
    state = _state(args)
    if not state.exists():
        report(args, f"nothing to clean: {state} does not exist",
               {"state_dir": str(state), "removed": []})
        return 0
    parts = running(state)
    if parts:
        held = ", ".join(f"{name} (pid {pid})" for pid, name in sorted(parts.items()))
        return fail(f"clean {state}: edgehost up still runs there ({held}); stop it first "
                    f"with Ctrl-C in its terminal, or `edgehost down`")
    if not state.is_dir():
        return fail(f"clean {state}: it is a file, not a state folder")
    removed = sorted(entry.name for entry in state.iterdir())
    try:
        shutil.rmtree(state)
    except OSError as exc:
        return fail(f"clean {state}: cannot remove {exc.filename} ({exc.strerror})")
    report(args, f"removed {state} ({', '.join(removed) or 'empty'})",
           {"state_dir": str(state), "removed": removed})
    return 0


def add_parsers(sub: argparse._SubParsersAction,
                add_json: Callable[[argparse.ArgumentParser], None]) -> None:
    for name, run, what in (
            ("down", down, "stop the edgehost up that runs on the state folder, or what a "
                           "killed one left running"),
            ("clean", clean, "remove what edgehost up keeps in its state folder (lattice "
                             "data, simulated flash, board key, logs)")):
        parser = sub.add_parser(name, help=what)
        parser.add_argument("--state-dir", metavar="DIR",
                            help="the state folder (default $EDGEHOST_STATE_DIR, else "
                                 "~/.local/state/edgehost)")
        add_json(parser)
        parser.set_defaults(run=run)
