"""Host calls the board cannot serve itself, sent to the gateway while the caller waits."""

from edgehost import port
from edgehost.dispatch import HostCallError
from edgelink.link import LinkError

STOPPING = -1  # what `session()` says once the board is stopping


class GatewayCalls:
    """Sends an actor's host call to the gateway and waits for the answer.

    It uses the board's connection through four calls: `send(msg, body)` sends a request and
    returns its id; `poll(wanted)` turns the board's own poll once, (the reply to request
    `wanted` or None, whether anything came); `session()` is the number of the open session,
    None when no gateway is connected, STOPPING when the board stops; `idle()` waits a moment
    for the port. What else arrives meanwhile is queued by the board and handled after the
    calling actor is done, since waPC calls are synchronous for the actor that makes them.
    """

    def __init__(self, timeout_ms, send, poll, session, idle):
        self._timeout_ms = timeout_ms
        self._send = send
        self._poll = poll
        self._session = session
        self._idle = idle
        self.waiting = 0  # host calls in flight: an actor's module is running meanwhile

    def ask(self, actor, binding, namespace, operation, payload):
        session = self._session()
        if session is None:
            raise HostCallError("no gateway connected: cannot serve %s %s"
                                % (namespace, operation))
        try:
            request_id = self._send({"t": "host_call", "actor": actor, "binding": binding,
                                     "namespace": namespace, "op": operation}, payload)
        except (LinkError, OSError) as exc:
            raise HostCallError("cannot send the host call to the gateway: %s" % exc)
        self.waiting += 1
        try:
            return self._wait(request_id, session, namespace, operation)
        finally:
            self.waiting -= 1

    def _wait(self, request_id, session, namespace, operation):
        started = port.ticks_ms()
        while True:
            answer, moved = self._poll(request_id)
            if answer is not None:
                if answer["t"] == "error":
                    raise HostCallError(answer["message"])
                return bytes(answer.get("body") or b"")
            now = self._session()
            if now is None:
                raise HostCallError("the link to the gateway was lost during %s %s"
                                    % (namespace, operation))
            if now == STOPPING:
                raise HostCallError("the board is stopping")
            if now != session:
                raise HostCallError("the link reopened before the gateway answered %s %s"
                                    % (namespace, operation))
            if port.ticks_diff(port.ticks_ms(), started) >= self._timeout_ms:
                raise HostCallError("timed out after %d ms waiting for the gateway to answer "
                                    "%s %s" % (self._timeout_ms, namespace, operation))
            if not moved:
                self._idle()
