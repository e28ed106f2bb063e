"""The live view of `edgehost up`: a row per actor with its health and calls, the hints under it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from edgegate.vhost.host import BoardHost

WIDE = 96  # below this many columns the view keeps what a newcomer looks at first


class CallCounts:
    """Calls into each actor, counted from the lattice's invocation events as any client sees
    them (wasmbus.rpcevt), and the rate since the view last asked."""

    def __init__(self) -> None:
        self.ok: dict[str, int] = {}
        self.failed: dict[str, int] = {}
        self._shown: dict[str, tuple[float, int]] = {}  # actor → (when, calls) last shown

    async def on_event(self, msg: Any) -> None:
        try:
            event = json.loads(msg.data)
            kind = str(event["type"]).rsplit(".", 1)[-1]
            actor = event["data"]["dest"]["public_key"]
        except (ValueError, KeyError, TypeError):
            return
        if kind == "invocation_succeeded":
            self.ok[actor] = self.ok.get(actor, 0) + 1
        elif kind == "invocation_failed":
            self.failed[actor] = self.failed.get(actor, 0) + 1

    def rate(self, actor: str) -> float:
        now = time.monotonic()
        calls = self.ok.get(actor, 0) + self.failed.get(actor, 0)
        then, before = self._shown.get(actor, (now, calls))
        self._shown[actor] = (now, calls)
        return (calls - before) / (now - then) if now > then else 0.0


def _health(host: BoardHost, actor: str) -> str:
    reported = (host.health.get("actors") or {}).get(actor)
    return str(reported) if reported else "unchecked"  # the board checks every 30 s or so


def status_view(hosts: Iterable[BoardHost], calls: CallCounts, hints: list[str],
                width: int) -> RenderableType:
    """The table of every board's actors, with `hints` under it so no message scrolls them
    away; at fewer than WIDE columns only board, actor, health and calls. Cells are cut short,
    never wrapped, so a row stays one line as the terminal narrows."""
    wide = width >= WIDE
    table = Table(title="edgehost up", title_justify="left", expand=False)
    columns = (["board", "host", "link", "actor", "health", "calls ok", "failed", "calls/s"]
               if wide else ["board", "actor", "health", "calls"])
    for name in columns:
        table.add_column(name, no_wrap=True, overflow="ellipsis")
    for host in hosts:
        link = "up" if host.session else "lost"
        actors = sorted(host.actors.values(), key=lambda a: a.name or a.key) or [None]
        for actor in actors:
            name = (actor.name or actor.key[:12] + "…") if actor else "(no actors)"
            key = actor.key if actor else ""
            health = _health(host, key) if actor else "-"
            ok, failed = calls.ok.get(key, 0), calls.failed.get(key, 0)
            if wide:
                table.add_row(host.entry.board_id, host.id[:12] + "…", link, name, health,
                              str(ok), str(failed), f"{calls.rate(key):.1f}")
            else:
                table.add_row(host.entry.board_id,
                              name, health if link == "up" else "link lost", f"{ok}/{failed}")
    return Group(table, *(Text(line) for line in hints))  # wrapped: a hint is to be copied


def live_hints(summary: list[str]) -> tuple[list[str], list[str]]:
    """`up`'s summary split in what is printed once and the hints the live view keeps."""
    start = summary.index("try:") if "try:" in summary else len(summary)
    return summary[:start], summary[start:]

