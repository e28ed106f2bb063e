"""A flush for nats-py clients that really means "the server has seen what was sent before"."""

from __future__ import annotations


async def flush_all(nc) -> None:
    """Return once the server has processed every command `nc` sent before this call.

    nats-py 2.16's flush() writes its PING straight to the socket, ahead of commands still
    queued for its flusher task, so its PONG can come back before a SUB sent just earlier was
    processed (a request from another client then finds no responders). By the time that
    first PONG is back the queue has been written, so a second flush's PING follows it.
    """
    await nc.flush()
    await nc.flush()
