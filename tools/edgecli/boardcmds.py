"""`edgehost board ...`: talk to one board over the link, without a lattice."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TransferSpeedColumn

from edgecli import fitreport
from edgecli.output import did_you_mean, fail, note, report
from edgecli.payloads import as_json, request_payload, show_answer
from edgecli.profiles import ProfileError, all_profiles, profile
from edgecli.signing import check_caps, signing_account, stored_key
from edgegate.config import LatticeConfig
from edgegate.devices.boardclient import BoardClient, BoardError, BoardRefused
from edgegate.devices.boardkey import BoardKey
from edgegate.devices.remote import RemoteBoard
from edgegate.devices.transports import parse_tcp_address
from edgegate.gateway import GatewayError, connect_nats
from edgegate.wascap import ActorMetadata, InvalidKeyError, SignedModule, sign_module
from edgelink import messages

Board = BoardClient | RemoteBoard  # a board reached directly, or through its gateway
Work = Callable[[Board], Awaitable[int]]


def _opener(args: argparse.Namespace, key: BoardKey) -> Callable[[], Awaitable[Board]]:
    """How to reach the board the arguments name; ValueError for a bad --tcp."""
    if args.nats:
        lattice = os.environ.get("WASMCLOUD_LATTICE_PREFIX") or "default"

        async def through_gateway() -> RemoteBoard:
            nc = await connect_nats(args.nats, LatticeConfig(rpc_url=args.nats),
                                    "edgehost board", closing=lambda: True,
                                    timeout=args.timeout)
            return await RemoteBoard.connect(nc, lattice, key, timeout=args.timeout)

        return through_gateway
    if args.tcp:
        host, port = parse_tcp_address(args.tcp)
        return lambda: BoardClient.connect_tcp(host, port, key, timeout=args.timeout)
    return lambda: BoardClient.connect_serial(args.port, key, baud=args.baud,
                                              timeout=args.timeout)


def _with_board(args: argparse.Namespace, work: Work) -> int:
    """Connect as the arguments say, run `work`, hang up; BoardError is one line, exit 1.

    Ctrl-C ends quietly with exit status 130.
    """
    try:
        if not (args.port or args.tcp or args.nats):
            raise ValueError(f"board {args.action}: needs the board: --port PATH|URL, "
                             f"--tcp HOST:PORT or --nats URL")
        if not args.key_file:
            raise ValueError(f"board {args.action}: needs --key-file FILE (the board's id and "
                             f"pairing key)")
        if not args.timeout > 0:
            raise ValueError(f"--timeout {args.timeout:g}: must be a number of seconds above 0")
        if args.baud <= 0:
            raise ValueError(f"--baud {args.baud}: must be a speed in bits per second above 0")
        key = BoardKey.load(Path(args.key_file))
        open_board = _opener(args, key)
    except (BoardError, ValueError) as exc:
        return fail(str(exc))

    # dropped frames are summed up in the one line a failure prints; no warnings before it
    logging.getLogger("edgegate").addHandler(logging.NullHandler())

    async def session() -> int:
        client = await open_board()
        try:
            return await work(client)
        finally:
            await client.close()

    try:
        return asyncio.run(session())
    except (BoardError, GatewayError) as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return 130


def _board(client: Board) -> str:
    return f"board {client.board_id}"


def _resolve(client: Board, actor: str) -> str:
    """The key of the one actor `actor` names; BoardError when it names several."""
    if actor in client.actors:
        return actor
    for field in ("alias", "name"):
        found = [key for key, details in client.actors.items() if details[field] == actor]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise BoardError(f"{_board(client)}: {len(found)} actors have the {field} {actor!r} "
                             f"({', '.join(found)}); give the key of one")
    names = [d[field] for d in client.actors.values() for field in ("alias", "name") if d[field]]
    hint = did_you_mean(actor, names)
    if hint:
        raise BoardError(f"{_board(client)} has no actor {actor!r}{hint}")
    return actor  # unknown: the board says so


# -- ping ---------------------------------------------------------------------------------------


def ping(args: argparse.Namespace) -> int:
    started = time.monotonic()

    async def work(client: Board) -> int:
        seconds = time.monotonic() - started
        summary = client.info()
        report(args, f"board {client.board_id} at {client.where} answers: firmware "
                     f"{summary['firmware']}, {len(summary['actors'])} actors "
                     f"(connected in {seconds * 1000:.0f} ms)",
               {"board": client.board_id, "where": client.where,
                # through a gateway: its host's whole id, which `where` shortens
                **({"host_id": client.host_id} if getattr(client, "host_id", "") else {}),
                "firmware": summary["firmware"], "actors": len(summary["actors"]),
                "connect_ms": round(seconds * 1000)})
        return 0

    return _with_board(args, work)


# -- info ---------------------------------------------------------------------------------------


def _print_summary(summary: dict[str, Any], where: str) -> None:
    def size(value: Any) -> str:
        if not isinstance(value, int):
            return "(not said)"
        return f"{value:,} bytes" if value >= 0 else "unknown (the board cannot tell)"

    uptime = summary["uptime_ms"]
    rows = (("Board", f"{summary['board']} at {where}"), ("Firmware", summary["firmware"]),
            ("Engine", summary["engine"]),
            ("Runtime", " ".join(str(summary[k]) for k in ("os", "os_version") if summary[k])
             or "(not said)"),
            ("Profile", summary["profile"]),
            ("Free memory", size(summary["free_mem"])),
            ("Free flash", size(summary["free_flash"])),
            *_budget_rows(summary.get("budget")),
            ("Uptime", f"{uptime / 1000:.1f} s" if isinstance(uptime, int) else "(not said)"))
    for label, value in rows:
        print(f"{label:<13}{value}")
    actors = summary["actors"]
    print(f"Actors       {len(actors) or 'none'}")
    if not actors:
        return
    # one row per actor under a header; full keys and digests, as the JSON has them
    columns = ("key", "alias", "name", "engine", "sha256")
    rows = [[c.upper() for c in columns]]
    rows += [[str(actor[c] or "-") for c in columns] for actor in actors]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        print("  " + "  ".join([*cells, row[-1]]))


def _budget_rows(budget: Any) -> list[tuple[str, str]]:
    if not isinstance(budget, dict):
        return []  # an older board, or one whose hello had to leave it out
    pages = budget.get("pages", 0)
    return [("Actor slots", f"{budget.get('slots_free')} of {budget.get('slots')} free; up to "
                            f"{pages} memory pages ({pages * 64} KiB) per actor")]


def info(args: argparse.Namespace) -> int:
    async def work(client: Board) -> int:
        summary = client.info()
        summary["budget"] = client.hello.get("budget")
        if args.json:
            print(json.dumps(summary))
        else:
            _print_summary(summary, client.where)
        return 0

    return _with_board(args, work)


# -- install ------------------------------------------------------------------------------------


def _dev_signed(path: Path, data: bytes, caps: list[str]) -> bytes:
    """The module signed by the user's account, with a module key named for the file."""
    issuer = signing_account()
    subject = stored_key(path.stem, "module")
    signed = sign_module(data, issuer, subject, ActorMetadata(path.stem, caps=caps))
    note(f"signed {path} on the fly as {subject.public_key} (development key; for anything "
         f"else sign it with `edgehost claims sign`)")
    return signed


def _module_to_install(path: Path, dev_sign: bool,
                       caps: list[str]) -> tuple[bytes, SignedModule]:
    """The module's bytes and claims, fully verified; ValueError/OSError say what is wrong."""
    if caps and not dev_sign:
        raise ValueError("--cap only applies with --dev-sign (a signed module keeps its claims)")
    check_caps(caps)
    data = path.read_bytes()
    module = SignedModule(data)
    if module.token is None:
        if not dev_sign:
            raise ValueError(f"{path} has no claims; sign it with `edgehost claims sign` or use "
                             f"--dev-sign")
        data = _dev_signed(path, data, caps)
        module = SignedModule(data)
    elif dev_sign:
        note(f"{path} is signed already; --dev-sign leaves its claims as they are")
    module.verify()
    return data, module


def _upload_progress(path: Path, size: int) -> Progress:
    """A live line on stderr while the module goes out (none when stderr is not a terminal).

    It counts the bytes put on the wire, framing included; the link says nothing finer.
    """
    console = Console(stderr=True)
    return Progress(SpinnerColumn(), TextColumn(f"uploading {path.name} ({size:,} bytes)"),
                    BarColumn(), TextColumn("{task.completed:,.0f} bytes on the wire"),
                    TransferSpeedColumn(), console=console, transient=True,
                    disable=not console.is_terminal)


def install(args: argparse.Namespace) -> int:
    path = Path(args.module)
    try:
        data, module = _module_to_install(path, args.dev_sign, args.cap)
    except OSError as exc:
        return fail(f"install {path}: cannot read it ({exc.strerror})")
    except (ValueError, InvalidKeyError) as exc:  # WasmFormatError, ClaimsError
        return fail(f"install {path}: {exc}")
    claims = module.claims
    actor = claims["sub"]
    name = (claims.get("wascap") or {}).get("name") or path.stem
    digest = hashlib.sha256(data).hexdigest()

    try:
        needs = fitreport.module_needs(path, data)
    except ValueError as exc:
        return fail(f"install {exc}")

    async def work(client: Board) -> int:
        installed = client.actors.get(actor)
        result = {"board": client.board_id, "actor": actor, "name": name, "sha256": digest}
        if installed is not None and installed["sha256"] == digest:
            report(args, f"{actor} ({name}) is already installed on {_board(client)} "
                         f"(sha256 {digest[:16]}…); nothing uploaded",
                   {**result, "result": "unchanged"})
            return 0
        refused = fitreport.board_refusal(needs, client.hello, new_slot=installed is None)
        if refused is not None:
            return fail(f"{_board(client)} (profile {client.hello.get('profile')}) cannot take "
                        f"{path}: {refused}; nothing was uploaded (see `edgehost board fit`)")
        try:
            with _upload_progress(path, len(data)) as progress:
                task = progress.add_task("upload", total=None)
                reply = await client.install(data, module.token.text, actor,
                                             lambda sent: progress.update(task, completed=sent))
        except BoardRefused as exc:
            return fail(f"{_board(client)} refused {path}: {exc.message}")
        if reply["t"] == "swapped":
            report(args, f"replaced {actor} ({name}) on {_board(client)}: the new module serves "
                         f"now (it had sha256 {installed['sha256'][:16]}…)",
                   {**result, "result": "replaced"})
        else:
            report(args, f"installed {actor} ({name}) on {_board(client)}",
                   {**result, "result": "installed"})
        return 0

    return _with_board(args, work)


# -- fit ----------------------------------------------------------------------------------------


def fit(args: argparse.Namespace) -> int:
    """The module's needs and a verdict per profile, or for the board given; exit 1 when the
    one profile (--profile) or board asked about cannot take it."""
    path = Path(args.module)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return fail(f"fit {path}: cannot read it ({exc.strerror})")
    try:
        needs = fitreport.module_needs(path, data)
        live = bool(args.port or args.tcp or args.nats) and not (args.profile or
                                                                 args.all_profiles)
        profiles = [] if live else [profile(args.profile)] if args.profile else all_profiles()
    except (ValueError, ProfileError) as exc:
        return fail(f"fit {exc}")
    if live:
        async def work(client: Board) -> int:
            refused = fitreport.board_refusal(needs, client.hello, new_slot=True)
            print("\n".join(fitreport.describe(path, needs)))
            print(f"\n{_board(client)} (profile {client.hello.get('profile')}): "
                  f"{'fits' if refused is None else 'refused: ' + refused}")
            return 0 if refused is None else 1

        return _with_board(args, work)
    print("\n".join(fitreport.describe(path, needs)))
    print()
    print("\n".join(fitreport.table(needs, profiles)))
    if args.profile and fitreport.profile_refuses(needs, profiles[0]):
        return 1
    return 0


# -- remove -------------------------------------------------------------------------------------


def remove(args: argparse.Namespace) -> int:
    async def work(client: Board) -> int:
        key = _resolve(client, args.actor)
        label = client.actor_label(key)
        try:
            await client.remove(key)
        except BoardRefused as exc:
            return fail(f"{_board(client)} cannot remove {args.actor}: {exc.message} "
                        f"({exc.code})")
        report(args, f"removed {label} from {_board(client)}",
               {"board": client.board_id, "actor": key, "result": "removed"})
        return 0

    return _with_board(args, work)


# -- call ---------------------------------------------------------------------------------------


def _refusal(exc: BoardRefused) -> str:
    """What the board said, in the words of its config: the link's body limit comes from the
    board's max_payload (config.json `limits`, or its profile)."""
    found = re.search(r"body of (\d+) bytes exceeds max_body (\d+)", exc.message)
    if exc.code != messages.TOO_LARGE or found is None:
        return exc.message
    return (f"the payload of {found[1]} bytes is over the board's limit of {found[2]} bytes "
            f"(max_payload in the limits of its config.json or profile)")


def call(args: argparse.Namespace) -> int:
    try:
        payload = request_payload(args)
    except ValueError as exc:
        return fail(str(exc))
    started = time.monotonic()

    async def work(client: Board) -> int:
        key = _resolve(client, args.actor)
        try:
            # --timeout is the whole command's: the connection and the answer share it
            answer = await client.call(key, args.operation, payload,
                                       deadline=started + args.timeout)
        except BoardRefused as exc:
            return fail(f"{_board(client)}: {args.actor} {args.operation}: {_refusal(exc)}")
        try:
            show_answer(args, args.actor, answer)
        except ValueError as exc:
            return fail(f"{_board(client)}: {args.actor} {args.operation}: {exc}")
        return 0

    return _with_board(args, work)


# -- logs ---------------------------------------------------------------------------------------


def _log_line(client: BoardClient, msg: dict[str, Any]) -> str:
    if msg["t"] == "event":
        return f"event {msg.get('kind', '?')} {json.dumps(as_json(msg.get('data') or {}))}"
    actor = msg.get("actor")
    source = f"{client.actor_label(actor)}: " if actor else ""
    return f"{str(msg.get('level', 'info')).upper():<5} {source}{msg.get('text', '')}"


def logs(args: argparse.Namespace) -> int:
    async def work(client: Board) -> int:
        note(f"following the logs of {_board(client)} at {client.where}; Ctrl-C stops")
        async for msg in client.logs():
            print(_log_line(client, msg), flush=True)
        return fail(f"board at {client.where}: the connection closed")

    return _with_board(args, work)
