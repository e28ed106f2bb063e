"""`edgehost call`: invoke an actor through the lattice, as any wasmbus host would."""

from __future__ import annotations

import argparse
import asyncio

from edgecli.latticecalls import CallError, calling_key, invoke
from edgecli.latticeoptions import lattice_config
from edgecli.output import fail
from edgecli.payloads import request_payload, show_answer
from edgegate.config import ConfigError
from edgegate.gateway import GatewayError


def call(args: argparse.Namespace) -> int:
    if not args.timeout > 0:
        return fail(f"--timeout {args.timeout:g}: must be a number of seconds above 0")
    try:
        payload = request_payload(args)
        cluster = calling_key()
        config = lattice_config(args)
    except (ValueError, ConfigError, CallError) as exc:
        return fail(str(exc))
    try:
        answer = asyncio.run(invoke(config, cluster, args.actor, args.operation, payload,
                                    args.timeout))
    except (CallError, GatewayError) as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return 130
    try:
        show_answer(args, args.actor, answer)
    except ValueError as exc:
        return fail(f"{args.actor} {args.operation}: {exc}")
    return 0
