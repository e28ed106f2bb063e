"""Entry point of the `edgehost` command: parses arguments and hands over to one command."""

from __future__ import annotations

import argparse
import sys

from edgecli import claimcmds, commands, keycmds
from edgegate.wascap import KINDS


class CommandLineParser(argparse.ArgumentParser):
    """Usage mistakes are bad input: one line on stderr and exit status 1, as elsewhere."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(1, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _add_keys(sub: argparse._SubParsersAction) -> None:
    keys = sub.add_parser("keys", help="make nkeys and read public keys from seeds")
    actions = keys.add_subparsers(dest="action", metavar="ACTION", required=True)
    gen = actions.add_parser("gen", help="make a new key pair and print (or write) its seed")
    gen.add_argument("kind", choices=list(KINDS), help="the key's role")
    gen.add_argument("-o", "--output", help="write the seed to this file (mode 0600)")
    gen.set_defaults(run=keycmds.keys_gen)
    get = actions.add_parser("get", help="print the public key of a seed")
    get.add_argument("seed", help="a seed (S…) or a file holding one")
    get.set_defaults(run=keycmds.keys_get)


def _add_claims(sub: argparse._SubParsersAction) -> None:
    claims = sub.add_parser("claims", help="verify, inspect and sign wascap claims")
    actions = claims.add_subparsers(dest="action", metavar="ACTION", required=True)
    verify = actions.add_parser("verify", help="check a module's (or .par's) claims fully")
    verify.add_argument("module", help="a .wasm module or a .par / .par.gz provider archive")
    verify.set_defaults(run=claimcmds.claims_verify)

    inspect = actions.add_parser("inspect", help="show the claims of a module or .par archive")
    inspect.add_argument("module", help="a .wasm module or a .par / .par.gz provider archive")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    inspect.set_defaults(run=claimcmds.claims_inspect)

    sign = actions.add_parser("sign", help="sign a module, replacing any claims it carries")
    sign.add_argument("module", help="the .wasm module to sign")
    sign.add_argument("-o", "--output", help="signed module (default MODULE_s.wasm)")
    sign.add_argument("--name", help="actor name (default: the file's name)")
    sign.add_argument("--cap", action="append", default=[], metavar="CONTRACT_ID",
                      help="a capability, e.g. wasmcloud:httpserver (repeatable)")
    sign.add_argument("--tag", action="append", default=[], help="a tag (repeatable)")
    sign.add_argument("--rev", type=int, help="revision number")
    sign.add_argument("--ver", help="human-readable version, e.g. 0.1.0")
    sign.add_argument("--call-alias", help="a name other actors can call this one by")
    sign.add_argument("--expires-in", metavar="DURATION", help="e.g. 30d, 12h, 90m")
    sign.add_argument("--not-before", metavar="DURATION", help="valid only after, e.g. 1h")
    sign.add_argument("--issuer", metavar="SEED", help="account seed or seed file "
                      "(default: default_account.nk in the keys folder, made if absent)")
    sign.add_argument("--subject", metavar="SEED", help="module seed or seed file "
                      "(default: MODULE_module.nk in the keys folder, made if absent)")
    sign.set_defaults(run=claimcmds.claims_sign)


def build_parser() -> argparse.ArgumentParser:
    parser = CommandLineParser(
        prog="edgehost", description="A wasmCloud host for microcontrollers."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    up = sub.add_parser("up", help="run NATS, the gateway and a (simulated) board on this machine")
    up.add_argument("--port", help="serial port or pyserial URL of a real board")
    up.set_defaults(run=commands.up)

    build = sub.add_parser("build-actors", help="build the project's own actors to wasm32")
    build.add_argument("--out", help="output folder (default build/actors)")
    build.set_defaults(run=commands.build_actors)

    _add_keys(sub)
    _add_claims(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
