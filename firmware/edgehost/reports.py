"""What the board tells its gateway unasked: log lines, events and health, kept while offline."""

from edgehost import port
from edgehost.wapc import ActorFailed, WapcError


class Reports:
    """The board's log, events and health reports.

    `console(line)` shows a line on the board (its REPL output, stderr in the simulator);
    `send(msg)` sends a report if a session is open (False when it could not go);
    `health()` makes the health report.
    """

    def __init__(self, console, send, health):
        self._console = console
        self._send = send
        self._health = health
        self._queued = []  # events (and late warnings) waiting for a session
        self._last_health = None

    def console(self, line):
        self._console(line)

    def log(self, level, text, actor=None):
        self._console("[%s] %s" % (level, text))
        msg = {"t": "log", "level": level, "text": text}
        if actor is not None:
            msg["actor"] = actor
        self._send(msg)

    def actor_console(self, actor, text):
        self.log("info", "%s: %s" % (actor[:8], text), actor)

    def actor_log_line(self, actor, level, text):
        self.log(level, "%s: %s" % (actor[:8], text), actor)

    def event(self, kind, data):
        self.later({"t": "event", "kind": kind, "data": data}, now=True)

    def later(self, msg, now=False):
        """Send msg at once when `now` and a session is open; else with the next session."""
        if not (now and self._send(msg)):
            self._queued.append(msg)

    def session_opened(self):
        self._last_health = port.ticks_ms()
        queued = self._queued
        self._queued = []
        for msg in queued:
            self._send(msg)

    def health_tick(self, period_ms):
        if self._last_health is None:
            return
        now = port.ticks_ms()
        if port.ticks_diff(now, self._last_health) < period_ms:
            return
        self._last_health = now
        self._send(self._health())


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
