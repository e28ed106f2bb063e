"""The board: restore actors from flash, open the link, serve the gateway, stay up."""

import binascii
import gc

from edgehost import port
from edgehost.actors import ActorRefused, ActorTable
from edgehost.builtins import Builtins
from edgehost.dispatch import Dispatcher
from edgehost.gatewaycalls import STOPPING, GatewayCalls
from edgehost.hardware import Hardware, pin_bank
from edgehost.reports import Reports, health_status
from edgehost.requests import Requests
from edgehost.store import ActorStore
from edgelink import boardio
from edgelink.boardio import PortClosed
from edgelink.link import GATEWAY_MIN_FRAME, MIN_FRAME, LinkError, board_link
from edgelink.messages import GATEWAY, is_reply
from edgelink.mpack import packb
from edgelink.session import GATEWAY_PROOF_MISMATCH
from edgemodule.region import extent

FIRMWARE = "edgehost-board 0.2.0"
BACKOFF_FIRST_MS = 250
BACKOFF_MAX_MS = 8000
WATCHDOG_MS = 30000
PROOF_FAILURES = 3  # failed gateway proofs in a row that mean a wrong pairing key
# a connection that can be replaced (TCP) must authenticate within this, or it is dropped
HANDSHAKE_TIMEOUT_MS = 5000
# an unauthenticated connection that has answered with a challenge keeps its place this long
TAKEOVER_GRACE_MS = 1000
# how often a served board looks for another connection to turn away
BUSY_CHECK_MS = 200
MIN_MAX_BODY = 16 * 1024


def engine_name():
    """The wasm engine this board has: "wasm3", or "none" (it then refuses every install)."""
    try:
        import wasm3  # noqa: F401
    except ImportError:
        return "none"
    return "wasm3"


class Board:
    """One board: its lifecycle (boot, connect, serve, reconnect); the rest is in its parts.

    The actor table (`table`), the flash store (`store`), the gateway's requests
    (`requests`), calls out to the gateway (`calls`) and reports (`reports`).
    `connect()` returns a port (see edgelink.boardio) each time the board (re)connects, None
    when there is nothing to connect to yet (a listening board with no gateway), or raises
    OSError; `console(line)` shows the board's log lines (the REPL's output on a board,
    stderr in the simulator). `engine_module` runs the actors (edgehost.engine's shape; None:
    that module itself). `waiting()` (by default `connect.waiting` where it has one)
    says whether another connection waits to be accepted: a TCP board then drops one that
    has not authenticated in time or that another connection replaces. `run()` serves until
    `stop()`.
    """

    def __init__(self, config, flash_root, connect, console=print, engine=None,
                 watchdog_ms=WATCHDOG_MS, waiting=None, engine_module=None):
        self.config = config
        self.limits = config.limits
        self._connect = connect
        self._waiting = waiting or getattr(connect, "waiting", None)
        self.engine = engine or engine_name()
        self.store = ActorStore(flash_root, self.limits["module_flash_bytes"],
                                self._reload_moved)
        self.reports = Reports(console, self.send_report, self.health)
        # a modules partition smaller than the profile's region (a partition table made for
        # another profile): fits and installs count the flash the board has
        capacity = self.store.region.capacity()
        if capacity < self.limits["module_flash_bytes"]:
            self.reports.console(
                "[warn] the modules partition holds %d KiB for modules, less than the %d KiB "
                "of the profile's limits.module_flash_bytes; the board offers what it holds"
                % (capacity // 1024, self.limits["module_flash_bytes"] // 1024))
            self.limits = dict(self.limits)
            self.limits["module_flash_bytes"] = capacity
        self.hardware = Hardware(config.pins, pin_bank(self._pin_changed), self.log)
        self.builtins = Builtins(self.reports.actor_log_line, self.hardware)
        self.native = None  # the ahead-of-time tier, on a board whose config opts in
        if config.native_key is not None and self.engine != "none":
            self.native = self._native_tier(flash_root, engine_module)
        self.table = ActorTable(self.limits, self._host_call, self.reports.actor_console,
                                False if self.engine == "none" else
                                self.native.engine if self.native else engine_module,
                                config.maps_modules and (self.store.in_place
                                                         or port.SIMULATES_MAPPING))
        self.calls = GatewayCalls(config.host_call_timeout_ms, self._send_request, self._turn,
                                  self._session_now, self._idle)
        self.dispatcher = Dispatcher(self.table, self.builtins, self.calls.ask)
        self.requests = Requests(self.table, self.store, self.reply, self.reports, self.budget,
                                 self.calls, self.hardware, self._on_ready, self.native)
        self.watchdog = port.Watchdog(watchdog_ms)
        self.started = port.ticks_ms()
        self.running = True
        self.link = None
        self.port = None
        self.gateway_host = None
        self.sessions = 0
        self._pending = []  # messages that arrived while an actor waited for the gateway
        self._lost = None  # (level, reason) once the connection is gone
        self._backoff_ms = BACKOFF_FIRST_MS
        self._proof_failures = 0
        self._hold_from = 0
        self._hold_ms = 0
        self.max_frame = min(max(self.limits["max_frame"], MIN_FRAME), GATEWAY_MIN_FRAME)

    def log(self, level, text, actor=None):
        self.reports.log(level, text, actor)

    def event(self, kind, data):
        self.reports.event(kind, data)

    def _native_tier(self, flash_root, fallback):
        from edgehost import native  # only a board that takes native code holds the tier

        facts = native.board_facts(FIRMWARE)
        if facts is None:
            return None  # said at boot (run)
        return native.NativeTier(self.config.native_key, flash_root,
                                 self.limits["native_code_bytes"], facts, self.log, fallback)

    def engine_of(self, actor):
        """The engine that runs `actor`: "aot" for its translation, else this board's."""
        return self.native.engine.name_of(actor.sha256) if self.native else self.engine

    def _pin_changed(self, pin, value):
        self.log("info", "pin %d is now %s (simulated)" % (pin, "high" if value else "low"))

    # --- what the board has

    def budget(self, held=0):
        """What is left for one more actor: RAM, flash and slots (see edgemodule.fit); the
        `held` bytes of flash of the module asking (on its way in, or stored and being
        restored) count as free."""
        return self.table.budget(self.store.used_bytes() - held)

    def free_figures(self):
        """(free memory, free flash) as hello and health report them: what the profile's
        budget has left for actors (the module region is set aside whole, so the flash its
        budget leaves is there to write)."""
        budget = self.budget()
        return budget.ram_free, budget.flash_free

    def _reload_moved(self, digests):
        """Load again, from where a compaction moved them, the actors whose modules ran in
        place (their old bytes are overwritten); an actor that cannot be loaded is removed."""
        if not self.store.in_place:
            return  # each instance holds its own copy of its module
        for actor in list(self.table.actors.values()):
            if actor.sha256 in digests:
                try:
                    module = self.store.module_of(actor.sha256)
                    actor.host.swap(module)
                except Exception as exc:  # the module it ran is gone: it must not run again
                    self.table.remove(actor.key)
                    self.store.remove(actor.key)
                    self.log("error", "actor %s removed: cannot load it again after flash "
                             "compaction: %s" % (actor.key, exc))
                module = None

    # --- boot

    def restore(self):
        """Load the actors on flash; what is cut off or refused is reported, never run."""
        records, dropped = self.store.restore()
        restored = []
        for record in records:
            key = record["key"]
            digest = binascii.unhexlify(record["digest"])
            try:
                module = self.store.load_module(record)
                if self.native:
                    self.native.restore(key, digest)
                self._restore_actor(key, module, record, digest)
                restored.append(key)
            except (ActorRefused, OSError) as exc:
                dropped.append((key, str(exc)))
            module = None
            gc.collect()
        if self.native:
            self.native.keep_only(restored)
        for name, reason in dropped:
            self.log("warn", "actor %s dropped at boot: %s" % (name, reason))
            self.event("actor_dropped", {"actor": name, "reason": reason})
        if restored:
            self.log("info", "restored %d actor(s) from flash" % len(restored))
            self.event("actors_restored", {"actors": restored})
        return restored

    def _restore_actor(self, key, module, record, digest):
        # the store has just proved the digest of what was checked at install
        budget = self.budget(extent(record["size"]))
        try:
            self.table.install(key, module, record.get("claims"), digest, checked=True,
                               budget=budget)
        except ActorRefused as exc:
            if not (self.native and self.native.engine.name_of(digest) == "aot"):
                raise
            self.native.forget(key, digest, exc)  # its translation would not run: wasm3
            self.table.install(key, module, record.get("claims"), digest, checked=True,
                               budget=budget)

    def hello(self):
        actors = {}
        info = {}
        for key, actor in self.table.actors.items():
            actors[key] = actor.sha256
            info[key] = actor.info()
            info[key]["engine"] = self.engine_of(actor)
        free_mem, free_flash = self.free_figures()
        hello = {"t": "hello", "board": self.config.board_id, "firmware": FIRMWARE,
                 "engine": self.engine, "profile": self.config.profile,
                 "chip": self.config.chip, "os": port.IMPLEMENTATION,
                 "os_version": port.IMPLEMENTATION_VERSION,
                 "max_frame": self.max_frame, "window": self.limits["window"],
                 "free_mem": free_mem, "free_flash": free_flash,
                 "budget": self.budget().report(), "actors": actors, "actor_info": info,
                 "uptime_ms": self.uptime_ms()}
        if self.native:
            hello["native"] = self.native.report()  # what the gateway translates for
        return hello

    def health(self):
        """Call every actor's health operation; the health report for the gateway."""
        statuses = {}
        for key, actor in list(self.table.actors.items()):
            statuses[key] = health_status(actor.host)
        gc.collect()
        free_mem, free_flash = self.free_figures()
        return {"t": "health", "free_mem": free_mem, "free_flash": free_flash,
                "uptime_ms": self.uptime_ms(), "actors": statuses}

    def _fitted(self, hello):
        """The hello cut down to one frame: without actor_info and budget, then with fewer
        actors (the gateway uploads those again, and installing a module the board holds is
        a no-op)."""
        limit = self.link.body_limit
        if len(packb(hello)) <= limit:
            return hello
        del hello["actor_info"]
        if len(packb(hello)) > limit:
            del hello["budget"]
        left_out = 0
        while len(packb(hello)) > limit and hello["actors"]:
            hello["actors"].pop(next(iter(hello["actors"])))
            left_out += 1
        text = ("hello does not fit a frame of %d bytes: actor_info%s and %d actor(s) left "
                "out; raise limits.max_frame" % (self.max_frame,
                                                 "" if "budget" in hello else ", budget",
                                                 left_out))
        self.reports.console("[warn] " + text)
        self.reports.later({"t": "log", "level": "warn", "text": text})  # after the hello
        return hello

    def uptime_ms(self):
        return port.ticks_diff(port.ticks_ms(), self.started)

    # --- staying connected

    def run(self):
        """Boot and serve until stop(): connect, serve, and on link loss connect again."""
        limits = self.limits
        self.reports.console(
            "[info] profile %s (%s): %d KiB of RAM for actors, %d pages per actor, %d actor "
            "slots, %d KiB of flash for modules" % (
                self.config.profile, self.config.board_name, limits["actor_ram_bytes"] // 1024,
                limits["max_pages_per_actor"], limits["max_actors"],
                limits["module_flash_bytes"] // 1024))
        if self.config.native_key is not None and self.native is None:
            self.reports.console("[warn] config.json has a native_key, but %s loads no native "
                                 "code here: actors run on wasm3" % port.IMPLEMENTATION)
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

    def connected(self):
        link = self.link
        return link is not None and link.session.is_open and self._lost is None

    def serve(self, link_port):
        """Serve one connection until it breaks (or the board stops)."""
        cfg = self.config
        self._lost = None
        self._pending = []
        self.link = board_link(
            cfg.board_id, cfg.pairing_key, link_port.write, max_frame=self.max_frame,
            window=self.limits["window"],
            max_body=max(self.limits["max_payload"], MIN_MAX_BODY),
            log=self._link_log, body_sink=self.requests.body_sink)
        self.link.on_open = self._session_opened
        self.link.drops.on_drop = self._on_drop
        self._proof_failures = 0
        self._hold_ms = 0
        self.link.open()
        accepted = checked = port.ticks_ms()
        period_ms = cfg.health_period_s * 1000
        while self.running and self._lost is None:
            self.watchdog.feed()
            if self._waiting is not None and not self.link.session.opened:
                self._check_unauthenticated(accepted)
                if self._lost is not None:
                    break
            elif self._waiting is not None and \
                    port.ticks_diff(port.ticks_ms(), checked) >= BUSY_CHECK_MS:
                checked = port.ticks_ms()
                if self._waiting():
                    # a gateway that hung up to come back at once is not a second one: read
                    # its hang-up first, and the next accept takes its new connection
                    self.poll()
                    if self._lost is None:
                        self._turn_away()
            if self._hold_ms:
                if port.ticks_diff(port.ticks_ms(), self._hold_from) < self._hold_ms:
                    port.sleep_ms(10)
                    continue
                self._hold_ms = 0
            moved = self.poll()[1]
            while self._pending and self._lost is None:
                self.requests.handle(self._pending.pop(0))
            if self.link.session.is_open:
                self.reports.health_tick(period_ms)
            if not moved:
                boardio.wait(link_port, 1)
        if self._lost is not None:
            level, reason = self._lost
            self.log(level, reason)
        self.link.drops.on_drop = None
        self.link.close()
        self.link = None

    def _check_unauthenticated(self, accepted):
        # Nobody may hold a TCP board without the pairing key: a connection that has not
        # authenticated gives way to the next one, and in any case times out. One that has
        # sent a challenge (a gateway, maybe ours) keeps its place for a moment first.
        age = port.ticks_diff(port.ticks_ms(), accepted)
        if age >= HANDSHAKE_TIMEOUT_MS:
            self._lose("info", "no gateway authenticated within %d s on this connection; "
                       "waiting for the next one" % (HANDSHAKE_TIMEOUT_MS // 1000))
        elif (not self.link.session.challenges or age >= TAKEOVER_GRACE_MS) and self._waiting():
            self._lose("info", "a new connection takes over from one that never "
                       "authenticated")

    def poll(self, wanted=None):
        """Read the link once: (the reply to board request `wanted` if it came, whether
        anything came). Everything else is queued for the serve loop, in order."""
        try:
            inbox = self.link.poll(self.port)
        except PortClosed:
            self._lose("info", "the gateway closed the connection; waiting for the next one")
            return None, False
        except (OSError, LinkError) as exc:
            self._lose("warn", "link lost: %s; reconnecting" % (exc,))
            return None, False
        answer = None
        for msg in inbox:
            if answer is None and msg["id"] == wanted and is_reply(msg["t"], GATEWAY):
                answer = msg
            else:
                self._pending.append(msg)
        return answer, bool(inbox)

    def _turn_away(self):
        # A second client (another gateway, `edgehost board`) would otherwise wait in the
        # listen backlog until its own time-out and blame the board: tell it now.
        try:
            other = self._connect()
            if other is None:
                return
        except OSError:
            return
        try:
            other.write(self.link.writer.encode(self.link.session.busy_record()))
        except OSError:
            pass
        try:
            other.close()
        except OSError:
            pass
        self.log("info", "turned away another connection: this one holds the board")

    def _lose(self, level, reason):
        if self._lost is None:
            self._lost = (level, reason)

    def _link_log(self, line):
        self.reports.console("[debug] " + line)

    def _session_opened(self):
        self.sessions += 1
        self._proof_failures = 0
        self._hold_ms = 0
        self._backoff_ms = BACKOFF_FIRST_MS
        self.link.send(self._fitted(self.hello()))
        self.reports.session_opened()

    def _on_drop(self, reason, detail):
        if detail == GATEWAY_PROOF_MISMATCH:
            self._proof_failed()

    def _proof_failed(self):
        # The session reports a mismatch once per OPEN, and never for a challenge that
        # answers an earlier OPEN; still, one failure may be noise: act when they repeat.
        self._proof_failures += 1
        if self._proof_failures < PROOF_FAILURES:
            return
        self.reports.console("[error] gateway proof failed: pairing key mismatch? (board %s); "
                             "retrying in %d ms" % (self.config.board_id, self._backoff_ms))
        # not reading holds the link's next OPEN back until the backoff is over; three more
        # failed OPENs before the next, longer, hold
        self._proof_failures = 0
        self._hold_from = port.ticks_ms()
        self._hold_ms = self._backoff_ms
        self._backoff_ms = min(self._backoff_ms * 2, BACKOFF_MAX_MS)

    # --- what the other parts send through the link

    def send_report(self, msg):
        """Send a report if a session is open; False when it could not go."""
        if not self.connected():
            return False
        try:
            self.link.send(msg)
        except (LinkError, OSError):
            return False
        return True

    def reply(self, msg, body=None):
        if not self.link.session.is_open:
            # a new session is opening: the gateway sends the request again in it, and the
            # answer comes from what Requests remembers of it
            return
        try:
            self.link.send(msg, body)
        except (LinkError, OSError) as exc:
            self._lose("warn", "cannot send %s: %s; reconnecting" % (msg["t"], exc))

    def _on_ready(self, msg):
        self.gateway_host = msg["host"]
        self.log("info", "session %d open with gateway %s" % (self.sessions, msg["host"]))

    # --- what a host call to the gateway waits on

    def _send_request(self, msg, body):
        return self.link.send(msg, body)

    def _turn(self, wanted):
        self.watchdog.feed()
        return self.poll(wanted)

    def _session_now(self):
        if not self.connected():
            return None
        return self.sessions if self.running else STOPPING

    def _idle(self):
        boardio.wait(self.port, 1)

    def _host_call(self, actor, binding, namespace, operation, payload):
        return self.dispatcher.host_call(actor, binding, namespace, operation, payload)
