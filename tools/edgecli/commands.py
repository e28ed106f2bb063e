"""One function per `edgehost` command; each takes the parsed arguments and returns an exit code."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from edgecli import actorbuild

USAGE = 2  # exit status of a usage mistake, as argparse has it; 1 is for bad input
quiet = False  # --quiet: no notes on stderr, only errors and results


def fail(message: str) -> int:
    """Tell the user what went wrong in one line; the command's exit code is 1."""
    print(f"edgehost: {message}", file=sys.stderr)
    return 1


def usage(message: str) -> int:
    """A usage mistake found after parsing: one line, exit status 2."""
    print(f"edgehost: {message} (see edgehost --help)", file=sys.stderr)
    return USAGE


def note(message: str) -> None:
    """A side remark on stderr (which key was used, what was made); --quiet drops it."""
    if not quiet:
        print(f"edgehost: {message}", file=sys.stderr)


def working(text: str) -> AbstractContextManager[object]:
    """A spinner with `text` on stderr while long work runs elsewhere (a host pulling an
    actor, a registry taking a push); nothing when stderr is not a terminal, or with --quiet."""
    console = Console(stderr=True)
    if quiet or not console.is_terminal:
        return nullcontext()
    return console.status(text)


def report(args: argparse.Namespace, text: str, data: dict) -> None:
    """A command's result: `text` for a person, or `data` as one JSON object with --json."""
    print(json.dumps(data) if getattr(args, "json", False) else text)


def _build_progress() -> Progress:
    """A live line on stderr while the actors build (none when stderr is not a terminal)."""
    console = Console(stderr=True)
    return Progress(SpinnerColumn(), TextColumn("building actors: {task.description}"),
                    BarColumn(), MofNCompleteColumn(), console=console, transient=True,
                    disable=quiet or not console.is_terminal)


def build_actors(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else actorbuild.OUTPUT
    if out.exists() and not out.is_dir():
        return fail(f"build-actors --out {out}: it is a file; give a folder (made if absent)")
    try:
        with _build_progress() as progress:
            task = progress.add_task("", total=None)

            def on_actor(name: str, index: int, count: int) -> None:
                progress.update(task, description=name, completed=index, total=count)

            built = actorbuild.build_all(out, on_actor)
    except actorbuild.ActorBuildError as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(f"build-actors --out {out}: cannot write there ({exc.strerror or exc})")
    sizes = {name: path.stat().st_size for name, path in built.items()}
    report(args, "\n".join(f"{name}: {path} ({sizes[name]} bytes)" for name, path in built.items()),
           {"actors": {name: {"path": str(path), "bytes": sizes[name]}
                       for name, path in built.items()}})
    return 0
