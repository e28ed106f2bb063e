"""Host calls the board cannot serve itself, sent to the gateway while the caller waits."""

from edgehost import port
from edgehost.dispatch import HostCallError
from edgelink import boardio
from edgelink.link import LinkError


class GatewayCalls:
    """Sends an actor's host call to the gateway and waits for the answer.

    The wait turns the board's own poll (`board.poll(wanted)`): what else arrives meanwhile
    is queued and handled after the calling actor is done, since waPC calls are synchronous
    for the actor that makes them.
    """

    def __init__(self, board, timeout_ms):
        self._board = board
        self._timeout_ms = timeout_ms
        self.waiting = 0  # host calls in flight: an actor's module is running meanwhile

    def ask(self, actor, binding, namespace, operation, payload):
        board = self._board
        link = board.link
        if not board.connected():
            raise HostCallError("no gateway connected: cannot serve %s %s"
                                % (namespace, operation))
        session = board.sessions
        try:
            request_id = link.send({"t": "host_call", "actor": actor, "binding": binding,
                                    "namespace": namespace, "op": operation}, payload)
        except (LinkError, OSError) as exc:
            raise HostCallError("cannot send the host call to the gateway: %s" % exc)
        self.waiting += 1
        try:
            return self._wait(board, request_id, session, namespace, operation)
        finally:
            self.waiting -= 1

    def _wait(self, board, request_id, session, namespace, operation):
        started = port.ticks_ms()
        while True:
            board.watchdog.feed()
            answer, moved = board.poll(request_id)
            if answer is not None:
                if answer["t"] == "error":
                    raise HostCallError(answer["message"])
                return bytes(answer.get("body") or b"")
            if not board.connected():
                raise HostCallError("the link to the gateway was lost during %s %s"
                                    % (namespace, operation))
            if not board.running:
                raise HostCallError("the board is stopping")
            if board.sessions != session:
                raise HostCallError("the link reopened before the gateway answered %s %s"
                                    % (namespace, operation))
            if port.ticks_diff(port.ticks_ms(), started) >= self._timeout_ms:
                raise HostCallError("timed out after %d ms waiting for the gateway to answer "
                                    "%s %s" % (self._timeout_ms, namespace, operation))
            if not moved:
                boardio.wait(board.port, 1)
