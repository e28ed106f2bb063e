"""The board application: restore actors from flash, open the link, serve the gateway, stay up."""

import binascii
import gc

from edgehost import port
from edgehost.actors import ActorRefused, ActorTable, UnknownActor
from edgehost.builtins import Builtins
from edgehost.dispatch import Dispatcher, HostCallError
from edgehost.store import ActorStore, StoreError
from edgehost.wapc import ActorFailed, GuestError, PayloadTooLarge, TrapError, WapcError
from edgelink.link import GATEWAY_MIN_FRAME, MIN_FRAME, LinkError, board_link
from edgelink.mpack import packb
from edgelink.session import GATEWAY_PROOF_MISMATCH

FIRMWARE = "edgehost-board 0.1.0"
REFUSED = "refused"
UNKNOWN_ACTOR = "unknown_actor"
BACKOFF_FIRST_MS = 250
BACKOFF_MAX_MS = 8000
WATCHDOG_MS = 30000
PROOF_FAILURES = 3  # failed gateway proofs in a row that mean a wrong pairing key
MIN_MAX_BODY = 64 * 1024


def engine_name():
    """The wasm engine this board has: "wasm3", or "none" (it then refuses every install)."""
    try:
        import wasm3  # noqa: F401
    except ImportError:
        return "none"
    return "wasm3"


def _or_unknown(value):
    """A figure for hello and health: -1 when the port cannot tell (CPython has no heap figure)."""
    return -1 if value is None else value


class Board:
    """One board: its config, flash store, actor table and the link to its gateway.

    `connect()` returns a port (see edgelink.boardio) each time the board (re)connects, None
    when there is nothing to connect to yet (a listening board with no gateway), or raises
    OSError; `console(line)` shows the board's log lines (the REPL's output on a board,
    stderr in the simulator). `run()` serves until `stop()`.
    """

    def __init__(self, config, flash_root, connect, console=print, engine=None,
                 watchdog_ms=WATCHDOG_MS):
        self.config = config
        self.limits = config.limits
        self._connect = connect
        self._console = console
        self.engine = engine or engine_name()
        self.store = ActorStore(flash_root)
        self._flash_root = flash_root
        self.builtins = Builtins(self._actor_log_line)
        self.table = ActorTable(self.limits, self._host_call, self._actor_console,
                                False if self.engine == "none" else None)
        self.dispatcher = Dispatcher(self.table, self.builtins, self._ask_gateway)
        self.watchdog = port.Watchdog(watchdog_ms)
        self.started = port.ticks_ms()
        self.running = True
        self.link = None
        self.port = None
        self.gateway_host = None
        self.sessions = 0
        self._pending = []  # messages that arrived while an actor waited for the gateway
        self._reports = []  # events waiting for a session
        self._lost = None
        self._backoff_ms = BACKOFF_FIRST_MS
        self._proof_failures = 0
        self._hold_from = 0
        self._hold_ms = 0
        self._last_health = None
        self.max_frame = min(max(self.limits["max_frame"], MIN_FRAME), GATEWAY_MIN_FRAME)

    # --- the console and reports to the gateway

    def log(self, level, text, actor=None):
        self._console("[%s] %s" % (level, text))
        msg = {"t": "log", "level": level, "text": text}
        if actor is not None:
            msg["actor"] = actor
        self._send_report(msg)

    def _actor_console(self, actor, text):
        self.log("info", "%s: %s" % (actor[:8], text), actor)

    def _actor_log_line(self, actor, level, text):
        self.log(level, "%s: %s" % (actor[:8], text), actor)

    def event(self, kind, data):
        msg = {"t": "event", "kind": kind, "data": data}
        if not self._send_report(msg):
            self._reports.append(msg)

    def _send_report(self, msg):
        link = self.link
        if link is None or not link.session.is_open or self._lost is not None:
            return False
        try:
            link.send(msg)
        except (LinkError, OSError):
            return False
        return True

    # --- boot

    def restore(self):
        """Load the actors on flash; what is cut off or refused is reported, never run."""
        records, dropped = self.store.restore()
        restored = []
        for record in records:
            key = record["key"]
            try:
                module = self.store.load_module(record)
                # the store has just proved the digest of what was checked at install
                self.table.install(key, module, record.get("claims"),
                                   binascii.unhexlify(record["digest"]), checked=True)
                restored.append(key)
            except (ActorRefused, OSError) as exc:
                dropped.append((key, str(exc)))
            module = None
            gc.collect()
        for name, reason in dropped:
            self.log("warn", "actor %s dropped at boot: %s" % (name, reason))
            self.event("actor_dropped", {"actor": name, "reason": reason})
        if restored:
            self.log("info", "restored %d actor(s) from flash" % len(restored))
            self.event("actors_restored", {"actors": restored})
        return restored

    def hello(self):
        actors = {}
        info = {}
        for key, actor in self.table.actors.items():
            actors[key] = actor.sha256
            info[key] = actor.info()
        return {"t": "hello", "board": self._text(self.config.board_id),
                "firmware": FIRMWARE, "engine": self.engine, "profile": self.config.profile,
                "max_frame": self.max_frame, "window": self.limits["window"],
                "free_mem": _or_unknown(port.free_memory()),
                "free_flash": _or_unknown(port.free_flash(self._flash_root)),
                "actors": actors, "actor_info": info, "uptime_ms": self.uptime_ms()}

    def _fitted(self, hello):
        """The hello cut down to one frame: without actor_info, then with fewer actors (the
        gateway uploads those again, and installing a module the board holds is a no-op)."""
        limit = self.link.body_limit
        if len(packb(hello)) <= limit:
            return hello
        del hello["actor_info"]
        left_out = 0
        while len(packb(hello)) > limit and hello["actors"]:
            hello["actors"].pop(next(iter(hello["actors"])))
            left_out += 1
        text = ("hello does not fit a frame of %d bytes: actor_info and %d actor(s) left "
                "out; raise limits.max_frame" % (self.max_frame, left_out))
        self._console("[warn] " + text)
        self._reports.append({"t": "log", "level": "warn", "text": text})  # after the hello
        return hello

    def _text(self, value):
        return value if isinstance(value, str) else str(value, "utf-8")

    def uptime_ms(self):
        return port.ticks_diff(port.ticks_ms(), self.started)

    # --- staying connected

    def run(self):
        """Boot and serve until stop(): connect, serve, and on link loss connect again."""
        self.restore()
        while self.running:
            self.watchdog.feed()
            try:
                self.port = self._connect()
            except OSError as exc:
                self.log("warn", "cannot open the link: %s; retrying in %d ms"
                         % (exc, self._backoff_ms))
                self._wait(self._backoff_ms)
                self._backoff_ms = min(self._backoff_ms * 2, BACKOFF_MAX_MS)
                continue
            if self.port is None:
                continue
            self.serve(self.port)
            closer = getattr(self.port, "close", None)
            if closer is not None:
                try:
                    closer()
                except OSError:
                    pass
            self.port = None
            gc.collect()
        self.table.close()

    def stop(self):
        self.running = False

    def _wait(self, ms):
        # time spans are measured from a start with ticks_diff: MicroPython's ticks wrap
        start = port.ticks_ms()
        while self.running and port.ticks_diff(port.ticks_ms(), start) < ms:
            self.watchdog.feed()
            port.sleep_ms(min(50, ms))

    def serve(self, link_port):
        """Serve one connection until it breaks (or the board stops)."""
        cfg = self.config
        self._lost = None
        self._pending = []
        self.link = board_link(
            cfg.board_id if isinstance(cfg.board_id, bytes) else cfg.board_id.encode(),
            cfg.pairing_key, link_port.write, max_frame=self.max_frame,
            window=self.limits["window"],
            max_body=max(self.limits["max_payload"], MIN_MAX_BODY),
            log=self._link_log)
        self.link.on_open = self._session_opened
        self.link.drops.on_drop = self._on_drop
        self._proof_failures = 0
        self.link.open()
        while self.running and self._lost is None:
            self.watchdog.feed()
            if self._hold_ms:
                if port.ticks_diff(port.ticks_ms(), self._hold_from) < self._hold_ms:
                    port.sleep_ms(10)
                    continue
                self._hold_ms = 0
            try:
                inbox = self.link.poll(link_port)
            except (OSError, LinkError) as exc:
                self._lose("link lost: %s" % (exc,))
                break
            self._pending.extend(inbox)
            busy = bool(self._pending)
            while self._pending and self._lost is None:
                self.handle(self._pending.pop(0))
            self._health_tick()
            if not busy:
                port.sleep_ms(1)
        if self._lost is not None:
            self.log("warn", "%s; reconnecting" % self._lost)
        self.link = None

    def _lose(self, reason):
        if self._lost is None:
            self._lost = reason

    def _link_log(self, line):
        self._console("[debug] " + line)

    def _session_opened(self):
        self.sessions += 1
        self._proof_failures = 0
        self._backoff_ms = BACKOFF_FIRST_MS
        self._last_health = port.ticks_ms()
        self.link.send(self._fitted(self.hello()))
        reports = self._reports
        self._reports = []
        for msg in reports:
            self._send_report(msg)

    def _on_drop(self, reason, detail):
        if detail == GATEWAY_PROOF_MISMATCH:
            self._proof_failed()

    def _proof_failed(self):
        # A CHALLENGE whose proof fails means another key only when it keeps happening: one
        # answering an OPEN the board has since replaced fails the same way.
        self._proof_failures += 1
        if self._proof_failures < PROOF_FAILURES:
            return
        self._console("[error] gateway proof failed: pairing key mismatch? (board %s); "
                      "retrying in %d ms" % (self._text(self.config.board_id), self._backoff_ms))
        # not reading holds the link's next OPEN back until the backoff is over
        self._hold_from = port.ticks_ms()
        self._hold_ms = self._backoff_ms
        self._backoff_ms = min(self._backoff_ms * 2, BACKOFF_MAX_MS)

    # --- requests from the gateway

    def handle(self, msg):
        t = msg["t"]
        handler = _HANDLERS.get(t)
        if handler is not None:
            handler(self, msg)
        elif t == "error":
            self._console("[warn] gateway reported %s: %s" % (msg["code"], msg["message"]))

    def _reply(self, msg, body=None):
        try:
            self.link.send(msg, body)
        except (LinkError, OSError) as exc:
            self._lose("cannot send %s: %s" % (msg["t"], exc))

    def _error(self, msg, code, text):
        self._reply({"t": "error", "id": msg["id"], "code": code, "message": text})

    def _on_ready(self, msg):
        self.gateway_host = msg["host"]
        self.log("info", "session %d open with gateway %s" % (self.sessions, msg["host"]))

    def _on_install(self, msg):
        key = msg["actor"]
        module = bytes(msg.pop("body"))
        try:
            actor, added = self.table.install(key, module, msg.get("claims"), msg["sha256"])
        except ActorRefused as exc:
            self.log("warn", "install refused: %s" % exc)
            return self._error(msg, REFUSED, str(exc))
        if added:
            try:
                self.store.save(key, module, {"claims": actor.token})
            except StoreError as exc:
                self.table.remove(key)
                return self._error(msg, "store", str(exc))
            self.log("info", "installed actor %s (%s)" % (key, actor.name or "unnamed"))
        module = None
        gc.collect()
        self._reply({"t": "installed", "id": msg["id"], "actor": key, "sha256": msg["sha256"]})

    def _on_swap(self, msg):
        key = msg["actor"]
        module = bytes(msg.pop("body"))
        try:
            actor = self.table.swap(key, module, msg.get("claims"), msg["sha256"])
        except UnknownActor as exc:
            return self._error(msg, UNKNOWN_ACTOR, str(exc))
        except ActorRefused as exc:
            self.log("warn", "swap refused, the old module keeps serving: %s" % exc)
            return self._error(msg, REFUSED, str(exc))
        try:
            self.store.save(key, module, {"claims": actor.token})
        except StoreError as exc:
            self.log("warn", "swapped actor %s but could not store it: %s" % (key, exc))
        module = None
        gc.collect()
        self.log("info", "swapped actor %s" % key)
        self._reply({"t": "swapped", "id": msg["id"], "actor": key, "sha256": msg["sha256"]})

    def _on_remove(self, msg):
        try:
            actor = self.table.remove(msg["actor"])
        except UnknownActor as exc:
            return self._error(msg, UNKNOWN_ACTOR, str(exc))
        self.store.remove(actor.key)
        self.log("info", "removed actor %s" % actor.key)
        self._reply({"t": "removed", "id": msg["id"], "actor": actor.key})

    def _on_invoke(self, msg):
        actor = self.table.find(msg["actor"])
        if actor is None:
            return self._error(msg, UNKNOWN_ACTOR, "no actor %s on this board" % msg["actor"])
        contract = provider_contract(msg["origin"])
        if contract is not None and contract not in actor.caps:
            return self._error(msg, REFUSED, "actor %s does not hold capability %s, so %s "
                               "may not invoke it" % (actor.key, contract, msg["origin"]))
        operation = msg["op"]
        try:
            result = actor.host.call(operation, msg.get("body") or b"")
        except GuestError as exc:
            return self._error(msg, "guest_error", exc.detail)
        except TrapError as exc:
            self.log("error", str(exc), actor.key)
            self.event("actor_trapped", {"actor": actor.key, "op": operation,
                                         "message": str(exc), "rebuilt": exc.rebuilt})
            return self._error(msg, "trap", str(exc))
        except ActorFailed as exc:
            return self._error(msg, "failed", str(exc))
        except PayloadTooLarge as exc:
            return self._error(msg, "too_large", str(exc))
        except WapcError as exc:
            return self._error(msg, "failed", str(exc))
        self._reply({"t": "invoke_result", "id": msg["id"]}, result)

    def _on_get_claims(self, msg):
        actor = self.table.find(msg["actor"])
        if actor is None:
            return self._error(msg, UNKNOWN_ACTOR, "no actor %s on this board" % msg["actor"])
        token = actor.token or ""
        self._reply({"t": "claims", "id": msg["id"], "actor": actor.key}, token.encode())

    def _on_request_for_gateway(self, msg):
        self._error(msg, "unknown_type", "%s is sent by a board, not to one" % msg["t"])

    # --- host calls

    def _host_call(self, actor, binding, namespace, operation, payload):
        return self.dispatcher.host_call(actor, binding, namespace, operation, payload)

    def _ask_gateway(self, actor, binding, namespace, operation, payload):
        """Send a host call to the gateway and wait for its answer, serving nothing else
        meanwhile: what arrives is queued and handled after the calling actor is done."""
        link = self.link
        if link is None or not link.session.is_open or self._lost is not None:
            raise HostCallError("no gateway connected: cannot serve %s %s"
                                % (namespace, operation))
        session = self.sessions
        try:
            request_id = link.send({"t": "host_call", "actor": actor, "binding": binding,
                                    "namespace": namespace, "op": operation}, payload)
        except (LinkError, OSError) as exc:
            raise HostCallError("cannot send the host call to the gateway: %s" % exc)
        timeout = self.config.host_call_timeout_ms
        started = port.ticks_ms()
        while True:
            self.watchdog.feed()
            try:
                inbox = link.poll(self.port)
            except (OSError, LinkError) as exc:
                self._lose("link lost: %s" % (exc,))
                raise HostCallError("the link to the gateway was lost during %s %s"
                                    % (namespace, operation))
            for i, msg in enumerate(inbox):
                if msg["id"] == request_id and msg["t"] in ("host_result", "error"):
                    self._pending.extend(inbox[i + 1:])
                    if msg["t"] == "error":
                        raise HostCallError(msg["message"])
                    return bytes(msg.get("body") or b"")
                self._pending.append(msg)
            if not self.running:
                raise HostCallError("the board is stopping")
            if self.sessions != session:
                raise HostCallError("the link reopened before the gateway answered %s %s"
                                    % (namespace, operation))
            if port.ticks_diff(port.ticks_ms(), started) >= timeout:
                raise HostCallError("timed out after %d ms waiting for the gateway to answer "
                                    "%s %s" % (timeout, namespace, operation))
            if not inbox:
                port.sleep_ms(1)

    # --- health

    def _health_tick(self):
        if self._last_health is None or not self.link.session.is_open:
            return
        now = port.ticks_ms()
        if port.ticks_diff(now, self._last_health) < self.config.health_period_s * 1000:
            return
        self._last_health = now
        self._send_report(self.health())

    def health(self):
        """Call every actor's health operation; the health report for the gateway."""
        statuses = {}
        for key, actor in list(self.table.actors.items()):
            statuses[key] = health_status(actor.host)
        gc.collect()
        return {"t": "health", "free_mem": _or_unknown(port.free_memory()),
                "free_flash": _or_unknown(port.free_flash(self._flash_root)),
                "uptime_ms": self.uptime_ms(), "actors": statuses}


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


def provider_contract(origin):
    """The contract id a provider origin speaks for, or None for the CLI ("") or an actor.

    A provider origin is its contract id (`wasmcloud:httpserver`), optionally after the
    provider's key and a slash (`V.../wasmcloud:httpserver`).
    """
    if ":" not in origin:
        return None
    return origin.rsplit("/", 1)[-1]


_HANDLERS = {
    "ready": Board._on_ready,
    "install": Board._on_install,
    "swap": Board._on_swap,
    "remove": Board._on_remove,
    "invoke": Board._on_invoke,
    "get_claims": Board._on_get_claims,
    "hello": Board._on_request_for_gateway,
    "host_call": Board._on_request_for_gateway,
}
