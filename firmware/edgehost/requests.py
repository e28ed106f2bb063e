"""The gateway's requests to the board: install, swap, remove and invoke, each answered once."""

import binascii
import gc

from edgehost.actors import ActorRefused, UnknownActor
from edgehost.builtins import BuiltinError
from edgehost.store import StagedModule, StoreError
from edgehost.wapc import ActorFailed, GuestError, PayloadTooLarge, TrapError, WapcError
from edgelink.link import BodyRefused
from edgelink.messages import (
    BOARD,
    FAILED,
    GUEST_ERROR,
    REFUSED,
    REQUEST,
    SESSION,
    STORE,
    TOO_LARGE,
    TOO_LARGE_TO_KEEP,
    TRAP,
    UNKNOWN_ACTOR,
    UNKNOWN_TYPE,
    answered_once,
    role,
    sender,
)
from edgemodule.region import extent

UPLOADS = ("install", "swap")
OUTCOMES = 16  # replies remembered (a gateway never has more than the window in flight)
OUTCOME_BYTES = 8192  # of reply bodies, all told


class Outcomes:
    """The replies to one gateway link's latest requests, by request id, in bounded RAM.

    Every link numbers its requests from the same start, so an outcome answers only a request
    of the link it was kept for: the first outcome of another link forgets the rest, whatever
    order that link's messages came in. A reply whose body would not fit is kept as an error
    that says so: a request sent again gets that, not a second run.
    """

    def __init__(self, count=OUTCOMES, body_bytes=OUTCOME_BYTES):
        self.count = count
        self.body_bytes = body_bytes
        self.link = None  # the link whose requests these outcomes answer
        self._order = []
        self._replies = {}
        self._bytes = 0
        self.repeats = 0  # requests answered from here

    def get(self, link, request_id):
        if link != self.link:
            return None
        return self._replies.get(request_id)

    def clear(self):
        self._order = []
        self._replies = {}
        self._bytes = 0

    def keep(self, link, msg, body):
        if link != self.link:
            self.clear()
            self.link = link
        request_id = msg["id"]
        if body is not None and len(body) > self.body_bytes:
            msg = {"t": "error", "id": request_id, "link": link, "code": TOO_LARGE_TO_KEEP,
                   "message": "request %d ran once; its answer of %d bytes was too large to "
                              "keep for a repeat" % (request_id, len(body))}
            body = None
        if request_id in self._replies:
            self._forget(request_id)
        self._order.append(request_id)
        self._replies[request_id] = (msg, body)
        self._bytes += len(body) if body is not None else 0
        while len(self._order) > self.count or self._bytes > self.body_bytes:
            self._forget(self._order[0])

    def _forget(self, request_id):
        self._order.remove(request_id)
        body = self._replies.pop(request_id)[1]
        self._bytes -= len(body) if body is not None else 0


class Requests:
    """Serves one request at a time from the board's poll loop (see Board.serve).

    Modules come in through `body_sink`: each install or swap body is written to flash as its
    chunks arrive (RAM bounded by the chunk window, not by the module's size), and checked
    before a byte of it is taken against what the board has left for it.

    It holds the parts it serves from: the actor `table`, the flash `store`, `reply(msg,
    body)` that sends an answer, `reports`, `budget(held)` (see Board.budget), the gateway
    `calls`, the `hardware`, `on_ready(msg)` for the gateway's ready, and the ahead-of-time
    tier `native` (edgehost.native; None on a board that takes no native code).
    """

    def __init__(self, table, store, reply, reports, budget, calls, hardware, on_ready,
                 native=None):
        self._table = table
        self._store = store
        self._reply_out = reply
        self._reports = reports
        self._budget = budget
        self._calls = calls  # an actor waiting on the gateway keeps flash from compacting
        self._hardware = hardware
        self._on_ready = on_ready
        self._native = native
        self.outcomes = Outcomes()
        self._link = None  # the link the request being served names (its reply names it too)
        self._remember = False
        self._handlers = {
            "ready": self._on_ready,
            "install": self._on_install,
            "swap": self._on_swap,
            "remove": self._on_remove,
            "invoke": self._on_invoke,
            "contract_call": self._on_contract_call,
            "get_claims": self._on_get_claims,
            "native": self._on_native,
            "error": self._on_error,
        }

    def handle(self, msg):
        t = msg["t"]
        handler = self._handlers.get(t)
        self._link = msg.get("link")
        # a request with an effect sent again (the gateway does after a new session) is
        # answered from what the board remembers of it for the link it names, never run
        # twice; a request that names no link cannot be told from another link's of that id
        self._remember = answered_once(t) and self._link is not None
        if self._remember:
            known = self.outcomes.get(self._link, msg["id"])
            if known is not None:
                body = msg.pop("body", None)
                if isinstance(body, StagedModule):
                    body.discard()
                self.outcomes.repeats += 1
                return self._reply_out(dict(known[0]), known[1])
        if handler is not None:
            handler(msg)
        elif sender(t) == BOARD and role(t) in (REQUEST, SESSION):
            # what waits for an answer gets one; the board's own replies and reports do not
            self._error(msg, UNKNOWN_TYPE, "%s is sent by a board, not to one" % t)

    def _reply(self, msg, body=None):
        if self._link is not None:
            msg["link"] = self._link  # so that no other link's gateway takes it for its own
        if self._remember:
            self.outcomes.keep(self._link, dict(msg), None if body is None else bytes(body))
        self._reply_out(msg, body)

    def _error(self, msg, code, text):
        self._reply({"t": "error", "id": msg["id"], "code": code, "message": text})

    # --- modules on their way in

    def body_sink(self, msg):
        """Where the link puts a chunked body: flash for a module, RAM (None) for the rest."""
        if msg["t"] not in UPLOADS:
            return None
        key = msg["actor"]
        if msg["t"] == "swap" and self._table.find(key) is None:
            raise BodyRefused(UNKNOWN_ACTOR, "no actor %s on this board" % key)
        reason = None
        if not self._table.has_engine:
            reason = "actor %s: engine: this board has no wasm engine" % key
        else:
            budget = self._budget()
            held = self._table.actors.get(key)
            if msg["t"] == "install" and held is None and budget.slots_free <= 0:
                reason = ("actor %s: slots: the board holds %d actors, its limit"
                          % (key, budget.slots))
            elif extent(msg["size"]) > budget.flash_free:
                reason = ("actor %s: flash: the module of %d bytes does not fit the %d bytes "
                          "of flash free for modules" % (key, msg["size"], budget.flash_free))
        if reason is not None:
            self._reports.log("warn", "%s refused before upload: %s" % (msg["t"], reason))
            raise BodyRefused(REFUSED, reason)
        try:
            return self._store.stage(msg["size"], not self._calls.waiting)
        except StoreError as exc:
            raise BodyRefused(STORE, str(exc))

    def _staged(self, msg):
        """The request's module as a StagedModule on flash, however it came."""
        body = msg.pop("body")
        if isinstance(body, StagedModule):
            return body
        staged = self._store.stage(len(body), not self._calls.waiting)
        try:
            staged.write(body)
            staged.close()
        except OSError as exc:
            staged.discard()
            raise StoreError("cannot write the module to flash: %s" % exc)
        return staged

    def _upload(self, msg):
        """(staged, module bytes) of an install or swap; None when answered with an error."""
        try:
            staged = self._staged(msg)
        except StoreError as exc:
            self._error(msg, STORE, str(exc))
            return None
        gc.collect()
        try:
            return staged, staged.read()
        except (OSError, MemoryError) as exc:
            staged.discard()
            self._error(msg, REFUSED, "actor %s: memory: cannot read the module back: %s"
                        % (msg["actor"], exc))
            return None

    def _on_install(self, msg):
        key = msg["actor"]
        upload = self._upload(msg)
        if upload is None:
            return
        staged, module = upload
        try:
            actor, added = self._table.install(key, module, msg.get("claims"), msg["sha256"],
                                               budget=self._budget(staged.reserved))
        except ActorRefused as exc:
            staged.discard()
            self._reports.log("warn", "install refused: %s" % exc)
            return self._error(msg, REFUSED, str(exc))
        module = None
        if added:
            try:
                self._store.commit(key, staged, _hex(msg["sha256"]), {"claims": actor.token})
            except StoreError as exc:
                self._table.remove(key)
                return self._error(msg, STORE, str(exc))
            self._reports.log("info", "installed actor %s (%s)" % (key, actor.name or "unnamed"))
        else:
            staged.discard()
        gc.collect()
        self._reply({"t": "installed", "id": msg["id"], "actor": key, "sha256": msg["sha256"],
                     "budget": self._budget().report()})

    def _on_swap(self, msg):
        key = msg["actor"]
        if self._table.find(key) is None:
            body = msg.pop("body", None)
            if isinstance(body, StagedModule):
                body.discard()
            return self._error(msg, UNKNOWN_ACTOR, "no actor %s on this board" % key)
        upload = self._upload(msg)
        if upload is None:
            return
        staged, module = upload
        old = self._table.find(key)
        try:
            actor = self._table.swap(key, module, msg.get("claims"), msg["sha256"],
                                     budget=self._budget(staged.reserved))
        except UnknownActor as exc:
            staged.discard()
            return self._error(msg, UNKNOWN_ACTOR, str(exc))
        except ActorRefused as exc:
            staged.discard()
            self._reports.log("warn", "swap refused, the old module keeps serving: %s" % exc)
            return self._error(msg, REFUSED, str(exc))
        module = None
        try:
            self._store.commit(key, staged, _hex(msg["sha256"]), {"claims": actor.token})
        except StoreError as exc:
            # the new module is not kept, and where modules run in place its flash is free
            # again: the old one, still stored, serves
            self._swap_back(old)
            self._reports.log("warn", "swap of actor %s not stored, the old module serves "
                              "again: %s" % (key, exc))
            return self._error(msg, STORE, str(exc))
        gc.collect()
        self._drop_translation(key, old.sha256, "swap")
        self._reports.log("info", "swapped actor %s" % key)
        self._reply({"t": "swapped", "id": msg["id"], "actor": key, "sha256": msg["sha256"],
                     "budget": self._budget().report()})

    def _swap_back(self, old):
        """Run actor `old` (as it was before a swap) from its stored module again."""
        try:
            self._table.swap(old.key, self._store.module_of(old.sha256), old.token, old.sha256)
        except (ActorRefused, OSError) as exc:  # no module of its own to run: it stops
            self._table.remove(old.key)
            self._reports.log("error", "actor %s removed: %s" % (old.key, exc))

    # --- the rest

    def _on_remove(self, msg):
        try:
            actor = self._table.remove(msg["actor"])
        except UnknownActor as exc:
            return self._error(msg, UNKNOWN_ACTOR, str(exc))
        self._store.remove(actor.key)
        self._drop_translation(actor.key, actor.sha256, "remove")
        self._reports.log("info", "removed actor %s" % actor.key)
        self._reply({"t": "removed", "id": msg["id"], "actor": actor.key,
                     "budget": self._budget().report()})

    def _on_invoke(self, msg):
        actor = self._table.find(msg["actor"])
        if actor is None:
            return self._error(msg, UNKNOWN_ACTOR, "no actor %s on this board" % msg["actor"])
        contract = msg.get("origin_contract")
        if contract and contract not in actor.caps:
            caller = msg["origin"] + "/" + contract if msg["origin"] else contract
            return self._error(msg, REFUSED, "actor %s does not hold capability %s, so %s "
                               "may not invoke it" % (actor.key, contract, caller))
        operation = msg["op"]
        try:
            result = actor.host.call(operation, msg.get("body") or b"")
        except GuestError as exc:
            return self._error(msg, GUEST_ERROR, exc.detail)
        except TrapError as exc:
            self._reports.log("error", str(exc), actor.key)
            self._reports.event("actor_trapped", {"actor": actor.key, "op": operation,
                                                  "message": str(exc), "rebuilt": exc.rebuilt})
            return self._error(msg, TRAP, str(exc))
        except ActorFailed as exc:
            return self._error(msg, FAILED, str(exc))
        except PayloadTooLarge as exc:
            return self._error(msg, TOO_LARGE, str(exc))
        except WapcError as exc:
            return self._error(msg, FAILED, str(exc))
        self._reply({"t": "invoke_result", "id": msg["id"]}, result)

    def _on_contract_call(self, msg):
        # the gateway has checked the caller's link, claims and signature already
        try:
            result = self._hardware.call(msg["contract"], msg["op"], msg.get("body") or b"")
        except BuiltinError as exc:
            return self._error(msg, REFUSED, str(exc))
        self._reply({"t": "invoke_result", "id": msg["id"]}, result)

    def _on_get_claims(self, msg):
        actor = self._table.find(msg["actor"])
        if actor is None:
            return self._error(msg, UNKNOWN_ACTOR, "no actor %s on this board" % msg["actor"])
        token = actor.token or ""
        self._reply({"t": "claims", "id": msg["id"], "actor": actor.key}, token.encode())

    def _on_native(self, msg):
        actor = self._table.find(msg["actor"])
        if actor is None:
            return self._error(msg, UNKNOWN_ACTOR, "no actor %s on this board" % msg["actor"])
        if self._native is None:
            text = ("actor %s: translation refused, it runs on wasm3: this board takes no "
                    "native code (its config has no native_key)" % actor.key)
            self._reports.log("warn", text, actor.key)
            return self._error(msg, REFUSED, text)
        body = msg.pop("body", None)
        try:
            module = self._store.module_of(actor.sha256)
        except OSError as exc:
            return self._error(msg, REFUSED, "actor %s: %s" % (actor.key, exc))
        engine = self._native.offer(actor, msg["binding"], msg.get("sig"), body, module)
        module = None
        body = None
        gc.collect()
        self._reply({"t": "installed", "id": msg["id"], "actor": actor.key,
                     "sha256": actor.sha256, "engine": engine})

    def _drop_translation(self, key, digest, why):
        if self._native is None:
            return
        ran = self._native.engine.name_of(digest)
        self._native.drop(key, digest)
        if ran == "aot":
            self._reports.log("info", "actor %s: %s deleted its translation; its native code "
                              "stays loaded until a reboot and counts in native_code_bytes"
                              % (key, why), key)

    def _on_error(self, msg):
        self._self._reports.console("[warn] gateway reported %s: %s"
                                    % (msg["code"], msg["message"]))


def _hex(digest):
    return str(binascii.hexlify(digest), "ascii")

