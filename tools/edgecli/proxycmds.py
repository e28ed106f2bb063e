"""`edgehost linkproxy`: run the fault-injecting link proxy until Ctrl-C, then say what it did.

Like `up` and `gateway` it ends with the status a shell shows for the signal that stopped it
(130 for Ctrl-C, 143 for SIGTERM), after its report."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from typing import TextIO

from edgecli.linkfaults import FRAME_FAULTS, FaultError, Rates
from edgecli.linkproxy import READY_PREFIX, LinkProxy, ProxyError
from edgecli.output import fail
from edgecli.stopsignals import StopSignals
from edgegate.devices.transports import parse_tcp_address


def rates_from(args: argparse.Namespace) -> Rates:
    given = {name: getattr(args, name) for name in FRAME_FAULTS if getattr(args, name)}
    if args.damage:
        if given:
            raise FaultError("--damage: give it or the single rates, not both")
        return Rates.damaged(args.damage, unit=args.unit, delay_ms=args.delay_ms)
    return Rates(unit=args.unit, delay_ms=args.delay_ms, **given)


def linkproxy(args: argparse.Namespace) -> int:
    try:
        rates = rates_from(args)
        listen = None if args.pty else parse_tcp_address(args.tcp or "127.0.0.1:0",
                                                         listening=True)
        if listen is not None:
            _board_address(args.board)
    except (FaultError, ValueError) as exc:
        return fail(str(exc))
    proxy = LinkProxy(rates, args.seed, args.board, listen, args.baud)
    try:
        code = asyncio.run(_serve(proxy, sys.stderr if args.json else sys.stdout))
    except ProxyError as exc:
        return fail(str(exc))
    if args.json:
        print(json.dumps(proxy.report()), flush=True)
    else:
        for line in proxy.summary_lines():
            print(line, flush=True)
    return code


def _board_address(text: str) -> None:
    try:
        parse_tcp_address(text.removeprefix("tcp://"))
    except ValueError:
        raise ValueError(f"--board {text!r}: expected the board's HOST:PORT (or --pty and its "
                         f"serial port)") from None


async def _serve(proxy: LinkProxy, ready: TextIO) -> int:
    """Serve until SIGINT or SIGTERM and return its exit status; where the gateway connects is
    said on `ready` (stderr with --json, whose stdout is the report alone)."""
    stopping = StopSignals()
    where = await proxy.start()
    print(READY_PREFIX + where, file=ready, flush=True)
    try:
        return await stopping.wait()
    finally:
        with contextlib.suppress(Exception):
            await proxy.stop()
        sys.stdout.flush()
