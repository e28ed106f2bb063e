"""Host calls a board's actors send up, served on the lattice through the router."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edgegate.devices.session import BoardSession
from edgegate.rpc.router import RouteError, Router
from edgegate.vhost.actors import ActorOnBoard
from edgelink.messages import HOST_CALL


class HostCalls:
    """Answers each `host_call` of the board with a `host_result` or an error.

    `traces` holds, by actor, the trace context of the invocation it is serving, so that the
    calls it makes meanwhile carry it on. `session()` is the board's session now, if any.
    """

    def __init__(self, router: Router, host_id: str, actors: dict[str, ActorOnBoard],
                 session: Callable[[], BoardSession | None]):
        self.router = router
        self.host_id = host_id
        self.actors = actors
        self._session = session
        self.traces: dict[str, dict[str, str]] = {}

    async def serve(self, msg: dict[str, Any]) -> None:
        session = self._session()
        if session is None:
            return
        actor = self.actors.get(msg.get("actor", ""))
        try:
            if actor is None:
                raise RouteError(f"actor {msg.get('actor')} is not served on the lattice by "
                                 f"this host")
            answer = await self.router.call(
                self.host_id, actor, str(msg.get("binding", "")), str(msg.get("namespace", "")),
                str(msg.get("op", "")), bytes(msg.get("body") or b""),
                self.traces.get(actor.key, {}))
        except RouteError as exc:
            session.send({"t": "error", "id": msg["id"], "code": HOST_CALL,
                          "message": str(exc)})
            return
        session.send({"t": "host_result", "id": msg["id"]}, answer)
