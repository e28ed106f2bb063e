"""`edgehost deploy` (the host code onto a board) and `edgehost provision` (its identity)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

from edgecli import boardfiles, output, profiles
from edgecli.boardfiles import BoardFiles, BoardFilesError
from edgecli.output import fail, note, report, usage
from edgecli.serialports import AUTO
from edgegate.devices import registry
from edgegate.devices.boardkey import BoardKey
from edgegate.devices.transports import parse_tcp_address
from edgehost.config import BoardConfig, ConfigError
from edgelink import pairing


def _progress() -> Progress:
    console = Console(stderr=True)
    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                    console=console, transient=True,
                    disable=output.quiet or not console.is_terminal)


def deploy(args: argparse.Namespace) -> int:
    try:
        with BoardFiles(args.port, args.baud, waiting=note) as board:
            facts = board.facts()
            if facts.frozen_host and not args.force:
                report(args, "the host code is frozen into the firmware on %s: nothing to "
                       "deploy (--force copies it anyway, and the copy then shadows the frozen "
                       "code)" % args.port, {"frozen": True, "copied": [], "unchanged": []})
                return 0
            bytecode = None if args.source else facts.bytecode
            files = boardfiles.compiled_files(bytecode)
            files.update(boardfiles.profile_files([p.name for p in profiles.all_profiles()]))
            with _progress() as progress:
                task = progress.add_task("", total=None)

                def shown(path: str, done: int, total: int) -> None:
                    progress.update(task, description=path, completed=done, total=total)

                stale = tuple(package for _, package in boardfiles.PACKAGES)
                result = boardfiles.sync(board, files, stale, shown)
            if result.copied and not args.no_reset and not board.reset():
                note("%s has no machine.reset: restart it to run what was copied" % args.port)
    except BoardFilesError as exc:
        return fail(str(exc))
    kind = ".py source" if bytecode is None else ".mpy %s (mpy-cross)" % bytecode
    report(args, "deployed to %s as %s: %d copied (%d bytes), %d unchanged, %d removed"
           % (args.port, kind, len(result.copied), result.bytes_copied,
              len(result.unchanged), len(result.removed)),
           {"port": args.port, "bytecode": bytecode, "copied": result.copied,
            "unchanged": result.unchanged, "removed": result.removed,
            "bytes_copied": result.bytes_copied})
    return 0


# --- provision


def _address(option: str, text: str, listening: bool = False) -> tuple[str, int]:
    try:
        return parse_tcp_address(text, listening)
    except ValueError as exc:
        raise ValueError("%s %r: %s" % (option, text, str(exc).split(": ", 1)[-1])) from None


def _transport(args: argparse.Namespace, profile_data: dict[str, Any]) -> dict[str, Any]:
    """The config's transport from the options; ValueError names the option at fault."""
    if args.wifi is not None:
        if not args.gateway:
            raise ValueError("--wifi needs --gateway HOST:PORT (where the gateway listens)")
        host, port = _address("--gateway", args.gateway)
        password = args.wifi_password
        if password is None:
            password = os.environ.get("EDGEHOST_WIFI_PASSWORD", "")
        return {"kind": "wifi", "ssid": args.wifi, "password": password,
                "gateway_host": host, "gateway_port": port}
    if args.tcp_listen:
        host, port = _address("--tcp-listen", args.tcp_listen, listening=True)
        return {"kind": "tcp-listen", "host": host, "port": port}
    if args.usb:
        return {"kind": "usb"}
    uart = dict(profile_data.get("uart") or {})
    transport = {"kind": "uart", "uart": args.uart_id or uart.get("id", 1),
                 "tx": args.tx if args.tx is not None else uart.get("tx"),
                 "rx": args.rx if args.rx is not None else uart.get("rx"),
                 "baud": args.link_baud or uart.get("baud", 115200)}
    if transport["tx"] is None or transport["rx"] is None:
        raise ValueError("--uart: the profile names no UART pins; give --tx and --rx")
    return transport


def _registry_item(args: argparse.Namespace, board_id: str, key: bytes,
                   transport: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {"board_id": board_id, "pairing_key": key.hex()}
    kind = transport["kind"]
    if kind == "wifi":
        item["listen"] = args.gateway_listen or "0.0.0.0:%d" % transport["gateway_port"]
    elif kind == "tcp-listen":
        item["tcp"] = "%s:%d" % (transport["host"], transport["port"])
    else:
        gateway_port = args.gateway_port or (args.port if kind == "usb" else None)
        if not gateway_port:
            raise ValueError("--uart: give --gateway-port PATH, the gateway's serial port "
                             "wired to the board's UART")
        item["port"] = gateway_port
        if kind == "uart":
            item["baud"] = transport["baud"]
    if args.label:
        item["labels"] = dict(label.split("=", 1) for label in args.label)
    return item


def provision(args: argparse.Namespace) -> int:
    if any("=" not in label for label in args.label):
        return usage("provision --label: expected NAME=VALUE")
    try:
        profile = profiles.profile(args.profile)
        profile_data = profiles.profile_json(args.profile)
        pairing.board_id_bytes(args.board_id)
        key = os.urandom(pairing.KEY_BYTES)
        # the native-code key: the board takes translations its gateway signs with it
        native_key = os.urandom(pairing.KEY_BYTES) if args.native_code else None
        transport = _transport(args, profile_data)
        item = _registry_item(args, args.board_id, key, transport)
        if native_key is not None:
            item["native_key"] = native_key.hex()
    except (profiles.ProfileError, pairing.PairingError, ValueError) as exc:
        return fail("provision: %s" % exc)
    config = {"board_id": args.board_id, "pairing_key": key.hex(), "profile": profile.name,
              "transport": transport}
    if native_key is not None:
        config["native_key"] = native_key.hex()
    try:
        BoardConfig(config, "the config for board %s" % args.board_id,
                    str(profiles.PROFILES_DIR))
    except ConfigError as exc:
        return fail("provision: %s" % exc)
    registry_path = Path(args.registry)
    try:  # a registry that cannot take the board stops us before the board is changed
        registry.registry_items(registry_path)
    except registry.RegistryError as exc:
        return fail("provision: %s; nothing was written" % exc)
    try:
        with BoardFiles(args.port, args.baud, waiting=note) as board:
            old = board.read(boardfiles.CONFIG)
            files = {boardfiles.CONFIG: (json.dumps(config) + "\n").encode(),
                     **boardfiles.profile_files([profile.name])}
            for path, data in files.items():
                board.write(path, data)
            if old is not None:
                note("replaced the config.json that was on %s" % args.port)
            registry.put_board(registry_path, item)
            reset = not args.no_reset and board.reset()
    except BoardFilesError as exc:
        return fail(str(exc))
    except registry.RegistryError as exc:
        return fail("the board has its config, but the registry was not changed: %s" % exc)
    if args.key_file:
        BoardKey(args.board_id, key, native_key).write(Path(args.key_file), replace=True)
    where = {k: item[k] for k in ("port", "tcp", "listen") if k in item}
    shown = key.hex() if args.show_key else "not shown; --show-key prints it"
    report(args, "board %s provisioned on %s: profile %s, %s link\n"
           "config.json and profiles/%s.json written%s\n"
           "registry %s: %s at %s\npairing key: %s%s"
           % (args.board_id, args.port, profile.name, transport["kind"], profile.name,
              ", board reset" if reset else "", registry_path, args.board_id,
              " ".join("%s %s" % kv for kv in where.items()), shown,
              "\nnative code: on (the native-code key is in config.json and the registry)"
              if native_key else ""),
           {"board_id": args.board_id, "profile": profile.name, "transport": transport["kind"],
            "native_code": native_key is not None,
            "registry": str(registry_path), "gateway": where, "reset": reset,
            **({"pairing_key": key.hex()} if args.show_key else {})})
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    dep = sub.add_parser("deploy", help="copy the host code (firmware/, shared/) to a board "
                         "whose firmware does not have it frozen")
    dep.add_argument("--port", default=AUTO, metavar="PATH|URL|auto",
                     help="the board's REPL port (default auto: the one board plugged in)")
    dep.add_argument("--baud", type=int, default=115200, help="REPL speed (default 115200)")
    dep.add_argument("--source", action="store_true",
                     help="copy .py sources instead of .mpy bytecode")
    dep.add_argument("--force", action="store_true",
                     help="copy even when the firmware has the host code frozen")
    dep.add_argument("--no-reset", action="store_true", help="do not reset the board after")
    dep.add_argument("--json", action="store_true", help="print one JSON object")
    dep.set_defaults(run=deploy)

    pro = sub.add_parser("provision", help="give a board its id, a fresh pairing key, its link "
                         "and profile, and add it to the gateway's board registry")
    pro.add_argument("--port", default=AUTO, metavar="PATH|URL|auto",
                     help="the board's REPL port (default auto: the one board plugged in)")
    pro.add_argument("--baud", type=int, default=115200, help="REPL speed (default 115200)")
    pro.add_argument("--board-id", required=True, metavar="ID", help="the board's id")
    pro.add_argument("--profile", required=True, metavar="NAME", help="the board's profile")
    pro.add_argument("--registry", required=True, metavar="FILE",
                     help="the gateway's board registry file (made if absent)")
    link = pro.add_mutually_exclusive_group()
    link.add_argument("--uart", action="store_true",
                      help="link over a UART (the default; pins and speed from the profile)")
    link.add_argument("--usb", action="store_true", help="link over the board's own USB port")
    link.add_argument("--wifi", metavar="SSID", help="link over Wi-Fi to the gateway")
    link.add_argument("--tcp-listen", metavar="HOST:PORT",
                      help="the board listens and the gateway dials (a board on a network)")
    pro.add_argument("--tx", type=int, help="--uart: TX pin")
    pro.add_argument("--rx", type=int, help="--uart: RX pin")
    pro.add_argument("--uart-id", type=int, help="--uart: the UART number")
    pro.add_argument("--link-baud", type=int, help="--uart: link speed")
    pro.add_argument("--gateway-port", metavar="PATH",
                     help="the gateway's serial port for this board (--usb: default --port)")
    pro.add_argument("--wifi-password", metavar="TEXT",
                     help="--wifi: the network's password (or EDGEHOST_WIFI_PASSWORD)")
    pro.add_argument("--gateway", metavar="HOST:PORT", help="--wifi: where the gateway listens")
    pro.add_argument("--gateway-listen", metavar="HOST:PORT",
                     help="--wifi: the registry's listen address (default 0.0.0.0:PORT)")
    pro.add_argument("--label", action="append", default=[], metavar="NAME=VALUE",
                     help="a host label for the lattice (repeatable)")
    pro.add_argument("--key-file", metavar="FILE",
                     help="also write the id and key to this key file (for edgehost board)")
    pro.add_argument("--show-key", action="store_true", help="print the pairing key")
    pro.add_argument("--native-code", action="store_true",
                     help="the board takes actors translated to native code by its gateway "
                          "(the ahead-of-time tier): a native-code key for both (README)")
    pro.add_argument("--no-reset", action="store_true", help="do not reset the board after")
    pro.add_argument("--json", action="store_true", help="print one JSON object")
    pro.set_defaults(run=provision)
