"""Putting a signed module on a host's board and serving it: the one install path."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from edgegate.devices.session import BoardError, BoardSession
from edgegate.wascap import SignedModule

if TYPE_CHECKING:
    from edgegate.vhost.host import BoardHost

BOARD_INSTALL_SECONDS = 60.0


@dataclass
class Installed:
    actor: str
    what: str  # the board's answer: "installed", "swapped", or "held" when no upload was needed
    claims: dict
    sha256: bytes = b""
    token: str = ""  # the claims JWT

    @property
    def answer(self) -> str:
        """As the board answers: "installed" or "swapped" (a board that held these bytes
        already was not asked: it has them installed)."""
        return "installed" if self.what == "held" else self.what


async def put_on_board(session: BoardSession, host_id: str, module: bytes, mode: str = "any",
                       expect_actor: str | None = None,
                       progress: Callable[[int], None] | None = None,
                       timeout: float = BOARD_INSTALL_SECONDS) -> Installed:
    """Check `module`'s claims fully (signature, times, hash) and upload it to the board of
    `session` unless the board holds these very bytes; the board's hello is kept up to date.

    `mode`: "any" installs or swaps; "start" refuses to replace another module of a running
    actor; "update" needs the actor running. `expect_actor`: the module must be that actor's.
    `progress` and `timeout` are the upload's (`BoardSession.upload`).
    ClaimsError, BoardError or ValueError say what was refused (`host_id` names the host)."""
    signed = SignedModule(module)
    claims = signed.verify()
    actor = claims["sub"]
    if expect_actor is not None and actor != expect_actor:
        raise ValueError(f"the new module is actor {actor}, not {expect_actor}")
    digest = hashlib.sha256(module).digest()
    held = (session.hello.get("actors") or {}).get(actor)
    if mode == "update" and held is None:
        raise ValueError(f"actor {actor} is not running on host {host_id}")
    same = held is not None and bytes(held) == digest
    if mode == "start" and held is not None and not same:
        raise ValueError(f"actor {actor} already runs on host {host_id} with another module; "
                         f"update it instead")
    if same:
        what = "held"
    else:
        msg = {"t": "swap" if held is not None else "install", "actor": actor, "sha256": digest}
        reply = await session.upload(msg, module, progress, timeout)
        what = str(reply.get("t"))
        session.hello.setdefault("actors", {})[actor] = digest
        if isinstance(reply.get("budget"), dict):  # what the board has left now
            session.hello["budget"] = reply["budget"]
        wascap = claims.get("wascap") or {}
        info = session.hello.setdefault("actor_info", {})
        # as the next hello says; a new module runs on the board's wasm engine until its
        # translation, if any, is taken (edgegate.vhost.nativecode)
        info[actor] = {**(info.get(actor) or {}), "name": wascap.get("name"),
                       "alias": wascap.get("call_alias") or "",
                       "engine": session.hello.get("engine")}
    return Installed(actor, what, claims, digest, signed.token.text)


async def take_off_board(session: BoardSession, actor: str) -> str:
    """Remove an actor from the board of `session` (and from its flash); the key removed."""
    reply = await session.request({"t": "remove", "actor": actor})
    removed = str(reply.get("actor") or actor)
    session.hello.get("actors", {}).pop(removed, None)
    if isinstance(reply.get("budget"), dict):
        session.hello["budget"] = reply["budget"]
    return removed


async def install_on_board(host: BoardHost, module: bytes, mode: str = "any",
                           expect_actor: str | None = None) -> Installed:
    """`put_on_board` on the host's board, then serve the actor on the lattice; where the
    gateway translates for the board, its translation follows (wasm3 serves meanwhile)."""
    session = _session(host)
    installed = await put_on_board(session, host.id, module, mode, expect_actor)
    await host.add_actor(installed.actor, installed.sha256.hex(), installed.token)
    engine = ((session.hello.get("actor_info") or {}).get(installed.actor) or {}).get("engine")
    if host.native is not None and (installed.what != "held" or engine != "aot"):
        await host.native.offer(session, host.entry.board_id, host.entry.native_key,
                                installed.actor, installed.sha256, module)
    return installed


async def remove_from_board(host: BoardHost, actor: str) -> str:
    """Remove an actor from the board (and its flash); the host stops serving it."""
    removed = await take_off_board(_session(host), actor)
    await host.sync_actors()
    return removed


def _session(host: BoardHost) -> BoardSession:
    if host.session is None:
        raise BoardError(f"board {host.entry.board_id} is not connected")
    return host.session
