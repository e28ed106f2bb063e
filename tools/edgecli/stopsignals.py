"""Ctrl-C and SIGTERM as the end of a command that serves until told (`up`, `gateway`)."""

from __future__ import annotations

import asyncio
import signal


class StopSignals:
    """Made inside the event loop; `wait()` returns once SIGINT or SIGTERM came, with the exit
    status a shell shows for it (130 for Ctrl-C, 143 for SIGTERM), so a script can tell a
    stop it asked for from one that went well."""

    def __init__(self) -> None:
        self._came = asyncio.Event()
        self.code = 0
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._stop, sig)

    def _stop(self, sig: signal.Signals) -> None:
        if not self._came.is_set():
            self.code = 128 + sig
            self._came.set()

    def came(self) -> bool:
        return self._came.is_set()

    async def wait(self, timeout: float | None = None) -> int:
        """The exit status once a signal came; 0 if `timeout` seconds went by first."""
        try:
            await asyncio.wait_for(self._came.wait(), timeout)
        except TimeoutError:
            pass
        return self.code
