"""One function per `edgehost` command; each takes the parsed arguments and returns an exit code."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edgecli import actorbuild


def fail(message: str) -> int:
    """Tell the user what went wrong in one line; the command's exit code is 1."""
    print(f"edgehost: {message}", file=sys.stderr)
    return 1


def build_actors(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else actorbuild.OUTPUT
    try:
        built = actorbuild.build_all(out)
    except actorbuild.ActorBuildError as exc:
        return fail(str(exc))
    for name, path in built.items():
        print(f"{name}: {path} ({path.stat().st_size} bytes)")
    return 0
