"""What the board tells its gateway unasked: log lines, events and health, kept while offline."""

import gc

from edgehost import port
from edgehost.wapc import ActorFailed, WapcError


class Reports:
    """The board's log, events and health reports.

    `console(line)` shows a line on the board (its REPL output, stderr in the simulator);
    `board` gives the link (`send_report`), the actor table and the budget figures.
    """

    def __init__(self, board, console):
        self._board = board
        self._console = console
        self._queued = []  # events (and late warnings) waiting for a session
        self._last_health = None

    def console(self, line):
        self._console(line)

    def log(self, level, text, actor=None):
        self._console("[%s] %s" % (level, text))
        msg = {"t": "log", "level": level, "text": text}
        if actor is not None:
            msg["actor"] = actor
        self._board.send_report(msg)

    def actor_console(self, actor, text):
        self.log("info", "%s: %s" % (actor[:8], text), actor)

    def actor_log_line(self, actor, level, text):
        self.log(level, "%s: %s" % (actor[:8], text), actor)

    def event(self, kind, data):
        self.later({"t": "event", "kind": kind, "data": data}, now=True)

    def later(self, msg, now=False):
        """Send msg at once when `now` and a session is open; else with the next session."""
        if not (now and self._board.send_report(msg)):
            self._queued.append(msg)

    def session_opened(self):
        self._last_health = port.ticks_ms()
        queued = self._queued
        self._queued = []
        for msg in queued:
            self._board.send_report(msg)

    def health_tick(self, period_ms):
        if self._last_health is None:
            return
        now = port.ticks_ms()
        if port.ticks_diff(now, self._last_health) < period_ms:
            return
        self._last_health = now
        self._board.send_report(self.health())

    def health(self):
        """Call every actor's health operation; the health report for the gateway."""
        board = self._board
        statuses = {}
        for key, actor in list(board.table.actors.items()):
            statuses[key] = health_status(actor.host)
        gc.collect()
        free_mem, free_flash = board.free_figures()
        return {"t": "health", "free_mem": free_mem, "free_flash": free_flash,
                "uptime_ms": board.uptime_ms(), "actors": statuses}


def health_status(host):
    """"healthy", "unhealthy: why" or "failed: why" for one actor."""
    if host.failed:
        return "failed: %s" % host.failed
    try:
        host.call(host.health_operation, b"")
    except ActorFailed as exc:
        return "failed: %s" % exc
    except WapcError as exc:
        return "unhealthy: %s" % exc
    return "healthy"
