"""`edgehost build-actors`: the project's own actors, compiled from their C sources."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from edgecli import actorbuild, output
from edgecli.output import fail, report


def _build_progress() -> Progress:
    """A live line on stderr while the actors build (none when stderr is not a terminal)."""
    console = Console(stderr=True)
    return Progress(SpinnerColumn(), TextColumn("building actors: {task.description}"),
                    BarColumn(), MofNCompleteColumn(), console=console, transient=True,
                    disable=output.quiet or not console.is_terminal)


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
