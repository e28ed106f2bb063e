"""Entry point of the `edgehost` command: parses arguments and hands over to one command."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from importlib.metadata import version

from edgecli import (
    actorcmds,
    boardcmds,
    callcmds,
    claimcmds,
    completioncmds,
    ctlcmds,
    deploycmds,
    firmwarecmds,
    gatewaycmds,
    keycmds,
    output,
    parcmds,
    proxycmds,
    pushcmds,
    serialports,
    simcmds,
    statecmds,
    upcmds,
)
from edgegate.wascap import KINDS

INVALID_CHOICE = re.compile(r"argument (?P<name>[^:]+): invalid choice: '(?P<given>.*)' "
                            r"\(choose from (?P<choices>.*)\)")


class CommandLineParser(argparse.ArgumentParser):
    """Usage mistakes: one line on stderr and exit status 2, as argparse has it."""

    def error(self, message: str) -> None:  # type: ignore[override]
        actions = self._subparsers._group_actions[0] if self._subparsers is not None else None
        if actions is not None and message.startswith("the following arguments are required"):
            message = f"give one of {', '.join(actions.choices)}"  # what this command can do
        mistyped = INVALID_CHOICE.fullmatch(message)
        if mistyped is not None:
            given = mistyped["given"]
            hint = output.did_you_mean(given, re.findall(r"'([^']*)'", mistyped["choices"]))
            if hint:
                message = f"argument {mistyped['name']}: no such choice as {given!r}{hint}"
        self.exit(output.USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        # A leaf command takes its options anywhere, even between its positionals
        # (`board call ACTOR OP --msgpack-json '[1]'`); argparse only does that when asked.
        if self._subparsers is not None or getattr(self, "_intermixing", False):
            return super().parse_known_args(args, namespace)
        self._intermixing = True
        try:
            return super().parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


def _add_keys(sub: argparse._SubParsersAction) -> None:
    keys = sub.add_parser("keys", help="make nkeys and read public keys from seeds")
    actions = keys.add_subparsers(dest="action", metavar="ACTION", required=True)
    gen = actions.add_parser("gen", help="make a new key pair and print (or write) its seed")
    gen.add_argument("kind", choices=list(KINDS), help="the key's role")
    gen.add_argument("-o", "--output", help="write the seed to this file (mode 0600)")
    _add_json(gen)
    gen.set_defaults(run=keycmds.keys_gen)
    get = actions.add_parser("get", help="print the public key of a seed")
    get.add_argument("seed", help="a seed (S…) or a file holding one")
    _add_json(get)
    get.set_defaults(run=keycmds.keys_get)


def _add_claims(sub: argparse._SubParsersAction) -> None:
    claims = sub.add_parser("claims", help="verify, inspect and sign wascap claims")
    actions = claims.add_subparsers(dest="action", metavar="ACTION", required=True)
    verify = actions.add_parser("verify", help="check a module's (or .par's) claims fully")
    verify.add_argument("module", help="a .wasm module or a .par / .par.gz provider archive")
    _add_json(verify)
    verify.set_defaults(run=claimcmds.claims_verify)

    inspect = actions.add_parser("inspect", help="show the claims of a module or .par archive")
    inspect.add_argument("module", help="a .wasm module or a .par / .par.gz provider archive")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    inspect.set_defaults(run=claimcmds.claims_inspect)

    sign = actions.add_parser("sign", help="sign a module; a signed one keeps its subject "
                              "and name unless told")
    sign.add_argument("module", help="the .wasm module to sign")
    sign.add_argument("-o", "--output", help="signed module (default MODULE_s.wasm)")
    sign.add_argument("--name", help="actor name (default: the name in the module's claims, "
                      "else the file's name)")
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
                      "(default: the seed in the keys folder of the subject the module's claims "
                      "name, else MODULE_module.nk, made if absent)")
    _add_json(sign)
    sign.set_defaults(run=claimcmds.claims_sign)


def _add_sim(sub: argparse._SubParsersAction) -> None:
    sim = sub.add_parser("sim", help="run the board firmware on this machine as a simulated board")
    where = sim.add_mutually_exclusive_group()
    where.add_argument("--pty", action="store_true",
                       help="serve on a new pseudo-terminal and print its path (the default)")
    where.add_argument("--tcp", metavar="HOST:PORT", help="serve on a TCP port instead")
    sim.add_argument("--config", metavar="FILE", help="the board's config.json")
    sim.add_argument("--key-file", metavar="FILE",
                     help="board id and pairing key (made when absent); used without --config")
    sim.add_argument("--flash-dir", metavar="DIR",
                     help="the simulated flash; kept across restarts (default: a temporary one)")
    sim.add_argument("--baud", type=int, help="throttle the line to this UART speed")
    sim.add_argument("--profile", metavar="NAME",
                     help="the board profile to model (hardware/profiles/NAME.json; default "
                          "esp32-s3-devkitc-n8r8); used without --config")
    sim.add_argument("--board-id", metavar="ID",
                     help="the board's id for a key file made now (default sim)")
    runtime = sim.add_mutually_exclusive_group()
    runtime.add_argument("--micropython", action="store_true",
                         help="run the firmware on the board's MicroPython with its wasm3 engine")
    runtime.add_argument("--circuitpython", action="store_true",
                         help="run the firmware on the board's CircuitPython with its wasm3 "
                              "engine, as on a CircuitPython ESP32-S3")
    sim.add_argument("--native-code", action="store_true",
                     help="take actors translated to native code from the gateway (the "
                          "ahead-of-time tier; needs --micropython): a native-code key is "
                          "added to the key file")
    sim.add_argument("--stop-with-stdin", action="store_true",
                     help="stop when stdin closes (for a program that runs the simulator and "
                          "holds a pipe to it, so the simulator ends with it)")
    sim.set_defaults(run=simcmds.sim)


def _add_linkproxy(sub: argparse._SubParsersAction) -> None:
    proxy = sub.add_parser("linkproxy", help="a proxy between gateway and board that damages "
                                             "the link on purpose, to test a setup")
    where = proxy.add_mutually_exclusive_group()
    where.add_argument("--tcp", metavar="HOST:PORT",
                       help="where the gateway connects (default 127.0.0.1:0, a free port)")
    where.add_argument("--pty", action="store_true",
                       help="make a pseudo-terminal for the gateway and open --board as a "
                            "serial port")
    proxy.add_argument("--board", metavar="HOST:PORT|PATH", required=True,
                       help="the board (or simulator): its TCP address, or with --pty its "
                            "serial port")
    proxy.add_argument("--baud", type=int, default=115200, help="the board port's speed (--pty)")
    proxy.add_argument("--seed", type=int, default=1, help="seed of the damage (default 1)")
    proxy.add_argument("--unit", choices=("frame", "byte"), default="frame",
                       help="damage whole frames (default) or single bytes")
    proxy.add_argument("--damage", type=float, metavar="RATE",
                       help="this fraction of frames damaged: flips, drops and duplicates")
    for name, what in (("flip", "a bit flipped"), ("drop", "dropped"),
                       ("duplicate", "sent twice"), ("delay", "held back --delay-ms"),
                       ("truncate", "cut short"), ("reorder", "swapped with the next"),
                       ("disconnect", "a hang-up (a serial line goes dead for 1 s)")):
        proxy.add_argument(f"--{name}", type=float, default=0.0, metavar="RATE",
                           help=f"fraction of frames (or bytes) {what}")
    proxy.add_argument("--delay-ms", type=float, default=50.0, help="the delay (default 50)")
    proxy.add_argument("--json", action="store_true", help="the report as one JSON object")
    proxy.set_defaults(run=proxycmds.linkproxy)


# Longer than the profiles' call_deadline_ms: a call that runs away shows the board's
# "deadline exceeded", not a timeout of this end.
ANSWER_TIMEOUT_S = 15.0

BOARD_ENV = {"port": "EDGEHOST_PORT", "tcp": "EDGEHOST_TCP", "nats": "EDGEHOST_NATS",
             "key_file": "EDGEHOST_KEY_FILE"}


def _add_board_link(parser: argparse.ArgumentParser, default: object) -> None:
    """Where the board is and how to talk to it; given before or after the action."""
    parser.add_argument("--port", metavar="PATH|URL", default=default,
                        help="serial device, pty or pyserial URL, or auto: the one board "
                             "plugged in (or EDGEHOST_PORT)")
    parser.add_argument("--tcp", metavar="HOST:PORT", default=default,
                        help="a board (or simulator) on TCP (or EDGEHOST_TCP)")
    parser.add_argument("--nats", metavar="URL", default=default,
                        help="through the gateway that serves the board on this NATS lattice "
                             "(or EDGEHOST_NATS; lattice: WASMCLOUD_LATTICE_PREFIX, default "
                             "'default')")
    parser.add_argument("--key-file", metavar="FILE", default=default,
                        help="the board's id and pairing key (or EDGEHOST_KEY_FILE)")
    parser.add_argument("--baud", type=int, default=921600 if default is None else default,
                        help="serial speed (default 921600)")
    parser.add_argument("--timeout", type=float,
                        default=ANSWER_TIMEOUT_S if default is None else default,
                        help=f"seconds to wait for the board; a call's connection and answer "
                             f"share them (default {ANSWER_TIMEOUT_S:g})")


def board_target(args: argparse.Namespace, required: bool = True) -> str | None:
    """Fill the board's address and key file from EDGEHOST_* when not given; None, or what
    is missing or given twice (nothing is missing for an action that may go without a board)."""
    places = [name for name in ("port", "tcp", "nats") if getattr(args, name)]
    if not places:
        places = [name for name in ("port", "tcp", "nats") if os.environ.get(BOARD_ENV[name])]
        for name in places:
            setattr(args, name, os.environ[BOARD_ENV[name]])
    if len(places) > 1:
        given = " and ".join("--" + name for name in places)
        return f"board {args.action}: {given} both say where the board is; give one"
    if not places and not required:
        return None
    if not places:
        return (f"board {args.action}: needs the board: --port PATH|URL, --tcp HOST:PORT or "
                f"--nats URL (or EDGEHOST_PORT, EDGEHOST_TCP, EDGEHOST_NATS)")
    if not args.key_file:
        args.key_file = os.environ.get(BOARD_ENV["key_file"])
    if not args.key_file:
        return (f"board {args.action}: needs --key-file FILE (the board's id and pairing key; "
                f"or EDGEHOST_KEY_FILE)")
    return None


def _add_board(sub: argparse._SubParsersAction) -> None:
    board = sub.add_parser("board", help="talk to one board directly, without a lattice")
    _add_board_link(board, None)  # `fit` alone may go without a board
    actions = board.add_subparsers(dest="action", metavar="ACTION", required=True)

    ping = actions.add_parser("ping", help="check that the board answers, and how fast")
    ping.set_defaults(run=boardcmds.ping)

    info = actions.add_parser("info", help="board id, firmware, engine, memory, flash, actors")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(run=boardcmds.info)

    install = actions.add_parser("install", help="install a signed actor module on the board")
    install.add_argument("module", help="the .wasm module")
    install.add_argument("--dev-sign", action="store_true",
                         help="sign an unsigned module on the fly with a development key")
    install.add_argument("--cap", action="append", default=[], metavar="CONTRACT_ID",
                         help="with --dev-sign: a capability to grant (repeatable)")
    install.set_defaults(run=boardcmds.install)

    remove = actions.add_parser("remove", help="remove an actor from the board")
    remove.add_argument("actor", help="the actor's public key or call alias")
    remove.set_defaults(run=boardcmds.remove)

    call = actions.add_parser("call", help="invoke an operation of an actor on the board")
    call.add_argument("actor", help="the actor's public key or call alias")
    call.add_argument("operation", help="e.g. Echo or HttpServer.HandleRequest")
    _add_payload(call)
    call.set_defaults(run=boardcmds.call)

    logs = actions.add_parser("logs", help="follow the board's log lines")
    logs.set_defaults(run=boardcmds.logs)

    fit = actions.add_parser("fit", help="whether a module fits, before any upload: against "
                             "profiles, or the board given by --port, --tcp or --nats")
    fit.add_argument("module", help="the .wasm module")
    which = fit.add_mutually_exclusive_group()
    which.add_argument("--profile", metavar="NAME",
                       help="one profile (hardware/profiles/NAME.json); exit 1 if it does not fit")
    which.add_argument("--all-profiles", action="store_true",
                       help="every profile, a verdict each (the default without a board)")
    fit.set_defaults(run=boardcmds.fit)

    for action in actions.choices.values():
        _add_board_link(action, argparse.SUPPRESS)
        if action not in (info, logs):
            _add_json(action)


def _add_payload(call: argparse.ArgumentParser) -> None:
    """What every call command sends, and how it shows the answer."""
    call.add_argument("payload", nargs="?", metavar="PAYLOAD", help="the payload (UTF-8 text)")
    call.add_argument("--file", metavar="FILE",
                      help="read the payload from this file (- reads stdin)")
    call.add_argument("--msgpack-json", action="store_true",
                      help="the payload is JSON to send as msgpack; print the answer as JSON")


def _add_json(parser: argparse.ArgumentParser, what: str = "one JSON object") -> None:
    """--json means one thing everywhere: a JSON document on stdout and nothing else."""
    parser.add_argument("--json", action="store_true", help=f"print {what}")


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    """-q and -v on every command, before or after its name (SUPPRESS: a later parser does not
    reset what an earlier one set)."""
    if "--quiet" not in parser._option_string_actions:
        parser.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                            help="print results and errors only, no notes")
    if "--verbose" not in parser._option_string_actions:
        parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                            help="show what happens underneath (link and lattice debug lines)")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _add_output_options(child)


def add_lattice_options(parser: argparse.ArgumentParser, default: object = None) -> None:
    """The NATS options of every command that joins a lattice (wasmCloud's variables too)."""
    parser.add_argument("--nats", metavar="URL", default=default,
                        help="the lattice's NATS server (default nats://127.0.0.1:4222, or "
                             "WASMCLOUD_RPC_HOST/_PORT and WASMCLOUD_CTL_HOST/_PORT)")
    parser.add_argument("--creds", metavar="FILE", default=default,
                        help="NATS credentials file")
    parser.add_argument("--tls-ca", metavar="FILE", default=default,
                        help="CA certificate for NATS over TLS")
    parser.add_argument("--tls-cert", metavar="FILE", default=default,
                        help="client certificate for NATS")
    parser.add_argument("--tls-key", metavar="FILE", default=default,
                        help="client certificate's key")


def _add_gateway(sub: argparse._SubParsersAction) -> None:
    gw = sub.add_parser("gateway", help="serve boards as hosts on a NATS lattice")
    gw.add_argument("--boards", metavar="FILE", required=True,
                    help="the board registry (JSON: board ids, keys, ports, labels)")
    add_lattice_options(gw)
    gw.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                    help="log what the gateway does")
    gw.set_defaults(run=gatewaycmds.gateway)


def _add_call(sub: argparse._SubParsersAction) -> None:
    call = sub.add_parser("call", help="invoke an actor through the lattice")
    call.add_argument("actor", help="the actor's public key (M…) or call alias")
    call.add_argument("operation", help="e.g. Greet or HttpServer.HandleRequest")
    _add_payload(call)
    _add_json(call, "the answer in one JSON object")
    call.add_argument("--timeout", type=float, default=ANSWER_TIMEOUT_S,
                      help=f"seconds to wait for the answer (default {ANSWER_TIMEOUT_S:g})")
    add_lattice_options(call)
    call.set_defaults(run=callcmds.call)


def _add_ctl_options(parser: argparse.ArgumentParser, default: object) -> None:
    """How ctl reaches the lattice and prints; given before the action or after its leaf."""
    add_lattice_options(parser, default)
    parser.add_argument("--lattice", metavar="PREFIX", default=default,
                        help="lattice prefix (default WASMCLOUD_LATTICE_PREFIX or 'default')")
    parser.add_argument("--timeout", type=float, default=2.0 if default is None else default,
                        help="seconds to wait for answers (default 2)")
    parser.add_argument("--json", action="store_true",
                        default=False if default is None else default,
                        help="print JSON, for scripts")


def _add_ctl(sub: argparse._SubParsersAction) -> None:
    # SUPPRESS on the leaves: an option not given there keeps what `ctl` itself was given
    common = argparse.ArgumentParser(add_help=False)
    _add_ctl_options(common, argparse.SUPPRESS)

    def leaf(actions: argparse._SubParsersAction, name: str,
             help: str) -> argparse.ArgumentParser:
        return actions.add_parser(name, help=help, parents=[common])

    ctl = sub.add_parser("ctl", help="control a wasmCloud lattice, like wash ctl")
    _add_ctl_options(ctl, None)
    what = ctl.add_subparsers(dest="what", metavar="ACTION", required=True)

    verbs: dict[str, argparse._SubParsersAction] = {}

    def actor_verb(verb: str, help: str) -> argparse.ArgumentParser:
        kinds = what.add_parser(verb, help=help).add_subparsers(dest="kind", metavar="KIND",
                                                                required=True)
        verbs[verb] = kinds
        return leaf(kinds, "actor", help)

    get = what.add_parser("get", help="hosts, inventory, claims or links")
    items = get.add_subparsers(dest="item", metavar="ITEM", required=True)
    leaf(items, "hosts", "the hosts that answer a ping").set_defaults(
        run=ctlcmds.get_hosts)
    inventory = leaf(items, "inventory", "what runs on one host")
    inventory.add_argument("host_id", metavar="HOST_ID")
    inventory.set_defaults(run=ctlcmds.get_inventory)
    leaf(items, "claims", "the claims of the lattice's actors").set_defaults(
        run=ctlcmds.get_claims)
    leaf(items, "links", "the lattice's link definitions").set_defaults(
        run=ctlcmds.get_links)

    start = actor_verb("start", "start an actor")
    start.add_argument("actor_ref", metavar="REF", help="OCI reference or file:// path")
    start.add_argument("--host-id", help="the host to start it on (default: by auction)")
    start.add_argument("--constraint", action="append", default=[], metavar="LABEL=VALUE",
                       help="an auction constraint (repeatable)")
    start.add_argument("--count", type=int, default=1, help="instances (a board runs one)")
    start.set_defaults(run=ctlcmds.start_actor)

    stop = actor_verb("stop", "stop an actor")
    stop.add_argument("host_id", metavar="HOST_ID")
    stop.add_argument("actor_id", metavar="ACTOR_ID")
    stop.add_argument("--count", type=int, default=0, help="instances to stop (0: all)")
    stop.set_defaults(run=ctlcmds.stop_actor)

    scale = actor_verb("scale", "scale an actor")
    scale.add_argument("host_id", metavar="HOST_ID")
    scale.add_argument("actor_id", metavar="ACTOR_ID")
    scale.add_argument("actor_ref", metavar="REF")
    scale.add_argument("--count", type=int, required=True, help="instances wanted (0 stops)")
    scale.set_defaults(run=ctlcmds.scale_actor)

    update = actor_verb("update", "hot-swap a running actor for a new module of the same actor")
    update.add_argument("host_id", metavar="HOST_ID")
    update.add_argument("actor_id", metavar="ACTOR_ID")
    update.add_argument("new_actor_ref", metavar="NEW_REF")
    update.set_defaults(run=ctlcmds.update_actor)

    start_provider = leaf(verbs["start"], "provider", "start a capability provider (on a "
                          "board host: on its gateway's machine)")
    start_provider.add_argument("provider_ref", metavar="REF",
                                help="OCI reference or file:// path of a .par")
    start_provider.add_argument("--host-id", help="the host to start it on (default: by "
                                "auction)")
    start_provider.add_argument("--link-name", default="default", help="link name (default "
                                "default)")
    start_provider.add_argument("--constraint", action="append", default=[],
                                metavar="LABEL=VALUE", help="an auction constraint (repeatable)")
    start_provider.add_argument("--config-json", metavar="JSON",
                                help="configuration handed to the provider")
    start_provider.set_defaults(run=ctlcmds.start_provider)

    stop_provider = leaf(verbs["stop"], "provider", "stop a capability provider")
    stop_provider.add_argument("host_id", metavar="HOST_ID")
    stop_provider.add_argument("provider_id", metavar="PROVIDER_ID")
    stop_provider.add_argument("--link-name", default="default", help="link name (default "
                               "default)")
    stop_provider.set_defaults(run=ctlcmds.stop_provider)

    link = what.add_parser("link", help="put, delete or list link definitions")
    links = link.add_subparsers(dest="action", metavar="ACTION", required=True)
    put = leaf(links, "put", "link an actor to a provider")
    put.add_argument("actor_id", metavar="ACTOR_ID")
    put.add_argument("provider_id", metavar="PROVIDER_ID")
    put.add_argument("contract_id", metavar="CONTRACT_ID")
    put.add_argument("values", nargs="*", metavar="NAME=VALUE", help="the link's values")
    put.add_argument("--link-name", default="default")
    put.set_defaults(run=ctlcmds.link_put)
    delete = leaf(links, "del", "delete a link")
    delete.add_argument("actor_id", metavar="ACTOR_ID")
    delete.add_argument("contract_id", metavar="CONTRACT_ID")
    delete.add_argument("--link-name", default="default")
    delete.set_defaults(run=ctlcmds.link_del)
    leaf(links, "query", "list the links (as get links)").set_defaults(
        run=ctlcmds.get_links)

    registry = what.add_parser("registry", help="registry credentials for the hosts")
    registry_put = leaf(registry.add_subparsers(dest="action", metavar="ACTION", required=True),
                        "put", "give every host credentials for one registry (replacing "
                        "the ones they had, as registries.put does)")
    registry_put.add_argument("registry", metavar="HOST[:PORT]")
    registry_put.add_argument("--user", default="", help="user name")
    registry_put.add_argument("--password", default="", help="password")
    registry_put.add_argument("--token", default="", help="a bearer token instead")
    registry_put.set_defaults(run=ctlcmds.registry_put)

    apply = leaf(what, "apply", "bring one host to what a host manifest declares (labels, "
                 "actors, capabilities, links)")
    apply.add_argument("manifest", metavar="FILE", help="the manifest (YAML or JSON)")
    apply.add_argument("--host-id", metavar="ID",
                       help="the host (default: the lattice's only host)")
    apply.set_defaults(run=ctlcmds.apply_manifest)

    call = leaf(what, "call", "invoke an actor from the lattice, signed with the "
                           "cluster seed (WASMCLOUD_CLUSTER_SEED)")
    call.add_argument("actor_id", metavar="ACTOR_ID")
    call.add_argument("operation", metavar="OPERATION")
    _add_payload(call)
    call.set_defaults(run=ctlcmds.call)
    _add_watch(what, common)


def _add_watch(what: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    watch = what.add_parser("watch", parents=[common],
                            help="follow the lattice's events (hosts, actors, providers, links) "
                                 "until Ctrl-C; --json prints each as one JSON object a line")
    watch.set_defaults(run=ctlcmds.watch)


def _add_push(sub: argparse._SubParsersAction) -> None:
    push = sub.add_parser("push", help="put a signed actor into an OCI registry")
    push.add_argument("ref", metavar="REF", help="e.g. registry.example.com/echo:0.1.0")
    push.add_argument("module", metavar="MODULE", help="the signed .wasm module")
    push.add_argument("--insecure", action="store_true",
                      help="reach the registry over plain HTTP (or list it in "
                           "WASMCLOUD_OCI_ALLOWED_INSECURE)")
    push.add_argument("--user", help="registry user name (or WASH_REG_USER)")
    push.add_argument("--password", help="registry password (or WASH_REG_PASSWORD)")
    _add_json(push)
    push.set_defaults(run=pushcmds.push)


def build_parser() -> argparse.ArgumentParser:
    # no abbreviations at the top: they would clash with leaf options (`claims sign --ver`)
    parser = CommandLineParser(
        prog="edgehost", description="A wasmCloud host for microcontrollers.", allow_abbrev=False
    )
    parser.add_argument("--version", action="version", version=f"edgehost {version('edgehost')}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    up = sub.add_parser("up", help="run NATS, the gateway and a (simulated) board on this machine")
    board = up.add_mutually_exclusive_group()
    board.add_argument("--port", metavar="PATH|URL",
                       help="a real board on this serial port or pyserial URL (auto: the one "
                            "board plugged in)")
    board.add_argument("--tcp", metavar="HOST:PORT", help="a real board on Wi-Fi at this address")
    board.add_argument("--boards", metavar="FILE", help="the boards of a registry file")
    up.add_argument("--key-file", metavar="FILE", help="the real board's id and pairing key")
    up.add_argument("--baud", type=int, default=921600, help="serial speed (default 921600)")
    up.add_argument("--board-runtime", choices=("cpython", "micropython", "circuitpython"),
                    default="cpython",
                    help="what runs the simulated board's firmware: CPython (the default), or "
                         "the board's MicroPython or CircuitPython with the wasm3 engine")
    up.add_argument("--native-code", action="store_true",
                    help="the simulated board takes actors translated to native code (the "
                         "ahead-of-time tier; needs --board-runtime micropython)")
    add_lattice_options(up)
    up.add_argument("--nats-port", type=int, default=4222,
                    help="port of the embedded nats-server (default 4222)")
    up.add_argument("--state-dir", metavar="DIR",
                    help="where up keeps its NATS data, board key and simulated flash, one up "
                         "at a time (default EDGEHOST_STATE_DIR, else ~/.local/state/edgehost)")
    up.add_argument("--no-status", action="store_true", help="no live status view")
    up.add_argument("--manifest", metavar="FILE",
                    help="a host manifest (YAML or JSON) to apply to every board's host")
    up.set_defaults(run=upcmds.up)

    statecmds.add_parsers(sub, _add_json)
    build = sub.add_parser("build-actors", help="build the project's own actors to wasm32")
    build.add_argument("--out", help="output folder (default: actors/ in the build folder, "
                       "build/ of a clone, ~/.cache/edgehost/build when installed)")
    _add_json(build)
    build.set_defaults(run=actorcmds.build_actors)

    _add_keys(sub)
    _add_claims(sub)
    _add_sim(sub)
    _add_linkproxy(sub)
    _add_board(sub)
    _add_gateway(sub)
    _add_call(sub)
    _add_ctl(sub)
    _add_push(sub)
    parcmds.add_par(sub, _add_json)
    firmwarecmds.add_parsers(sub)
    deploycmds.add_parsers(sub)
    completioncmds.add_parser(sub)
    _add_output_options(parser)
    return parser


def _not_utf8(argv: list[str]) -> str | None:
    """The first argument that is not UTF-8 text (the OS hands such bytes over escaped)."""
    for arg in argv:
        try:
            arg.encode()
        except UnicodeEncodeError:
            return repr(os.fsencode(arg))[1:]
    return None


def _run(argv: list[str]) -> int:
    bad = _not_utf8(argv)
    if bad is not None:
        return output.usage(f"argument {bad} is not UTF-8 text; give names and payloads in "
                              f"UTF-8 (a binary payload goes in a file: --file)")
    parser = build_parser()
    completioncmds.complete(parser)
    if not argv:  # `edgehost` alone: what it can do
        parser.print_help()
        return 0
    args = parser.parse_args(argv)
    output.quiet = getattr(args, "quiet", False)
    args.verbose = getattr(args, "verbose", False)
    if args.verbose and args.command != "gateway":  # the gateway sets up its own logging
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
    if args.command == "board":
        problem = board_target(args, required=args.action != "fit")
        if problem is not None:
            return output.usage(problem)
    if getattr(args, "port", None) == serialports.AUTO:
        try:
            args.port = serialports.find_board_port()
        except serialports.NoSingleBoard as exc:
            return output.fail(str(exc))
        output.note(f"--port auto: {args.port}, the one board plugged in")
    return args.run(args)


def main(argv: list[str] | None = None) -> int:
    try:
        code = _run(sys.argv[1:] if argv is None else argv)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # the reader has gone (`| head -1`): the rest is not wanted; nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as a shell reports a command ended by SIGPIPE
    except KeyboardInterrupt:
        print("edgehost: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
