"""A board host without a lattice: the board's own dispatch serves calls; nothing leaves it.

Installs and removals take the one install path (`edgegate.vhost.install`) on the board's
session; the board's host calls that would need a lattice are refused by `BoardClient`.
"""

from __future__ import annotations

from typing import Any

from edgegate.boardclient import BoardClient
from edgegate.devices.session import BoardError
from edgegate.vhost.install import Installed, put_on_board, take_off_board
from edgegate.wascap import ClaimsError
from edgegate.wascap.tokens import Token


class LocalBoard:
    def __init__(self, client: BoardClient, host_id: str):
        self.client = client
        self.host_id = host_id
        self._claims: dict[str, dict[str, Any]] = {}  # actor → verified claims

    async def install(self, module: bytes, mode: str,
                      expect_actor: str | None = None) -> Installed:
        installed = await put_on_board(self.client.session, self.host_id, module, mode,
                                       expect_actor)
        self._claims[installed.actor] = installed.claims
        return installed

    async def remove(self, actor: str) -> str:
        removed = await take_off_board(self.client.session, actor)
        self._claims.pop(removed, None)
        return removed

    async def claims(self) -> dict[str, dict[str, Any]]:
        """The verified claims of every actor on the board (read from it when not known)."""
        out = {}
        for actor in self.client.actors:
            if actor not in self._claims:
                reply = await self.client.session.request({"t": "get_claims", "actor": actor})
                try:
                    self._claims[actor] = Token(bytes(reply.get("body") or b"").decode()).verify()
                except (ClaimsError, UnicodeDecodeError) as exc:
                    raise BoardError(f"board {self.client.board_id}: the claims of actor "
                                     f"{actor} do not verify ({exc})") from None
            out[actor] = self._claims[actor]
        return out
