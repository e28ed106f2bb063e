"""`edgehost board ...`: talk to one board over the link, without a lattice."""

from __future__ import annotations

import argparse

from edgecli.commands import fail


def _not_yet(args: argparse.Namespace) -> int:
    return fail(f"`edgehost board {args.action}` is not there yet (issue 5)")


info = install = remove = call = logs = _not_yet
