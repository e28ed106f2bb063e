"""Putting a signed module on a host's board and serving it: the one install path."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from edgegate.devices.session import BoardError
from edgegate.wascap import SignedModule

if TYPE_CHECKING:
    from edgegate.vhost.host import BoardHost

BOARD_INSTALL_SECONDS = 60.0


@dataclass
class Installed:
    actor: str
    what: str  # the board's answer: "installed", "swapped", or "held" when no upload was needed
    claims: dict


async def install_on_board(host: BoardHost, module: bytes, mode: str = "any",
                           expect_actor: str | None = None) -> Installed:
    """Check `module`'s claims fully (signature, times, hash), upload it to the board unless the
    board holds these very bytes, and serve the actor on the lattice.

    `mode`: "any" installs or swaps; "start" refuses to replace another module of a running
    actor; "update" needs the actor running. `expect_actor`: the module must be that actor's.
    ClaimsError, BoardError or ValueError say what was refused."""
    signed = SignedModule(module)
    claims = signed.verify()
    actor = claims["sub"]
    if expect_actor is not None and actor != expect_actor:
        raise ValueError(f"the new module is actor {actor}, not {expect_actor}")
    session = host.session
    if session is None:
        raise BoardError(f"board {host.entry.board_id} is not connected")
    digest = hashlib.sha256(module).digest()
    held = (session.hello.get("actors") or {}).get(actor)
    if mode == "update" and held is None:
        raise ValueError(f"actor {actor} is not running on host {host.id}")
    same = held is not None and bytes(held) == digest
    if mode == "start" and held is not None and not same:
        raise ValueError(f"actor {actor} already runs on host {host.id} with another module; "
                         f"update it instead")
    if same:
        what = "held"
    else:
        msg = {"t": "swap" if held is not None else "install", "actor": actor, "sha256": digest}
        reply = await session.request(msg, module, timeout=BOARD_INSTALL_SECONDS)
        what = str(reply.get("t"))
        session.hello.setdefault("actors", {})[actor] = digest
        if isinstance(reply.get("budget"), dict):  # what the board has left now
            session.hello["budget"] = reply["budget"]
        wascap = claims.get("wascap") or {}
        info = session.hello.setdefault("actor_info", {})
        info[actor] = {**(info.get(actor) or {}), "name": wascap.get("name"),
                       "alias": wascap.get("call_alias") or ""}  # as the next hello says
    await host.add_actor(actor, digest.hex(), signed.token.text)
    return Installed(actor, what, claims)


async def remove_from_board(host: BoardHost, actor: str) -> str:
    """Remove an actor from the board (and its flash); the host stops serving it."""
    session = host.session
    if session is None:
        raise BoardError(f"board {host.entry.board_id} is not connected")
    reply = await session.request({"t": "remove", "actor": actor})
    removed = str(reply.get("actor") or actor)
    session.hello.get("actors", {}).pop(removed, None)
    if isinstance(reply.get("budget"), dict):
        session.hello["budget"] = reply["budget"]
    await host.sync_actors()
    return removed
