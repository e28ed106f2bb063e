"""What every command prints: results (text or --json), notes, one-line errors and spinners."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from rich.console import Console

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


def did_you_mean(given: str, known: Iterable[str]) -> str:
    """"; did you mean 'X'?" when one of `known` is a typo away from `given`, else "": a
    letter missing, added, changed or two swapped, per three letters of it."""
    allowed = max(1, len(given) // 3)
    close = sorted((_typos(given, name), name) for name in set(known) if name != given)
    if close and close[0][0] <= allowed:
        return f"; did you mean {close[0][1]!r}?"
    return ""


def _typos(a: str, b: str) -> int:
    """Edits from `a` to `b`: insertions, deletions, substitutions, adjacent swaps."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i]
        for j in range(1, len(b) + 1):
            row.append(min(rows[i - 1][j] + 1, row[j - 1] + 1,
                           rows[i - 1][j - 1] + (a[i - 1] != b[j - 1])))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[i - 2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


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


def missing_folder(path: Path) -> str | None:
    """Why `path` cannot be made in its folder, or None: a missing parent is never made."""
    parent = path.parent
    if parent.is_dir():
        return None
    if parent.exists() or any(p.exists() and not p.is_dir() for p in parent.parents):
        return f"{parent} is not a folder"
    return f"folder {parent} does not exist (make it first)"
