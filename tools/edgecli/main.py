"""Entry point of the `edgehost` command: parses arguments and hands over to one command."""

from __future__ import annotations

import argparse
import sys

from edgecli import commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edgehost", description="A wasmCloud host for microcontrollers."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    up = sub.add_parser("up", help="run NATS, the gateway and a (simulated) board on this machine")
    up.add_argument("--port", help="serial port or pyserial URL of a real board")
    up.set_defaults(run=commands.up)

    build = sub.add_parser("build-actors", help="build the project's own actors to wasm32")
    build.add_argument("--out", help="output folder (default build/actors)")
    build.set_defaults(run=commands.build_actors)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
