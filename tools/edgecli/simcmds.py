"""`edgehost sim`: the board firmware run under CPython as a simulated board."""

from __future__ import annotations

import argparse

from edgecli.commands import fail


def sim(args: argparse.Namespace) -> int:
    return fail("`edgehost sim` is not there yet (issue 5); nothing was started")
