"""The board's actor table: install, swap and remove actors, find them by key or call alias."""

import gc
import io

from edgehost import port
from edgehost.wapc import Limits, ModuleRefused, WapcError, WapcHost
from edgemodule import claimcheck, fit
from edgemodule.wasminspect import inspect_bytes
from edgemodule.wasmsections import WasmFormatError


class ActorRefused(Exception):
    """A module or request was refused; the message is one line naming the actor and rule."""


class UnknownActor(Exception):
    """No actor on the board has that key or call alias."""


def _caps(claims):
    caps = (claims.get("wascap") or {}).get("caps")
    return caps if isinstance(caps, list) else []


class Actor:
    """One installed actor: who it is (from its claims) and the waPC host that runs it."""

    def __init__(self, key, claims, token, sha256, host, ram):
        meta = claims.get("wascap") or {}
        self.key = key
        self.ram = ram  # bytes of the board's actor RAM it takes (see edgemodule.fit)
        self.token = token
        self.sha256 = sha256
        self.name = meta.get("name") or ""
        self.alias = meta.get("call_alias") or ""
        self.caps = _caps(claims)
        self.host = host

    def info(self):
        return {"alias": self.alias, "name": self.name, "rpc_version": self.host.rpc_version}


def check_claims(key, module, token=None):
    """The claims must name the module's wascap hash and the actor's key.

    `token` is the claims JWT sent with the module; without one, the module's own claims
    section is used (a signed module carries it, and an install message with the token in
    it may not fit the board's frame). Returns (claims, token); raises ActorRefused with
    the check that failed.
    """
    if token is not None and (not isinstance(token, str) or not token):
        raise ActorRefused("actor %s: claims: the claims token sent with it is empty" % key)
    try:
        claims, token = claimcheck.check_module_claims(io.BytesIO(module), len(module), token)
    except claimcheck.ClaimsError as exc:
        if exc.check == claimcheck.NO_CLAIMS:
            exc = "no claims: neither the request nor the module carry claims"
        raise ActorRefused("actor %s: claims: %s" % (key, exc))
    except WasmFormatError as exc:
        raise ActorRefused("actor %s: format: not a valid module: %s" % (key, exc))
    if claims.get("sub") != key:
        raise ActorRefused("actor %s: claims: the claims are for %s, not this actor"
                           % (key, claims.get("sub")))
    return claims, token


def _read_claims(key, token):
    try:
        return claimcheck.decode_token(token)[1]
    except claimcheck.ClaimsError as exc:
        raise ActorRefused("actor %s: claims: %s" % (key, exc))


class ActorTable:
    """The actors this board runs, each a WapcHost, by public key and call alias.

    `host_call(actor, binding, namespace, operation, payload)` serves every actor's host calls;
    `on_log(actor, text)` takes their console lines. `engine` is None for pywasm3 / the board's
    wasm3 binding, or False where the board has no wasm engine (every install is refused).
    `maps` says modules run in place from mapped flash and so take no RAM of the budget.
    """

    def __init__(self, limits, host_call, on_log, engine=None, maps=False):
        self.limits = limits
        self.maps = maps
        self.max_actors = limits["max_actors"]
        # the fit model counts linear memory within the actors' RAM; the engine holds it there
        port.limit_linear_memory(limits["actor_ram_bytes"])
        self.wapc_limits = Limits(memory_pages=limits["max_pages_per_actor"],
                                  max_payload=limits["max_payload"],
                                  deadline_ms=limits["call_deadline_ms"])
        self._host_call = host_call
        self._on_log = on_log
        self._engine = engine
        self.has_engine = engine is not False
        self.actors = {}
        self._loading = None  # (key, caps) of the actor whose module is being loaded

    def __len__(self):
        return len(self.actors)

    def ram_used(self):
        total = 0
        for actor in self.actors.values():
            total += actor.ram
        return total

    def budget(self, flash_used=0):
        """What is left for one more actor (see edgemodule.fit.Budget)."""
        return fit.Budget(self.limits, self.ram_used(), flash_used, len(self.actors), self.maps)

    def check_fits(self, key, module, budget, new_slot=True):
        """The module's needs; ActorRefused with the fit rule when the budget cannot take it."""
        try:
            needs = fit.Needs(inspect_bytes(module), len(module))
        except WasmFormatError as exc:
            raise ActorRefused("actor %s: format: not a valid module: %s" % (key, exc))
        refused = fit.refusal(needs, budget, new_slot)
        if refused is not None:
            raise ActorRefused("actor %s: %s: %s" % (key, refused[0], refused[1]))
        return needs

    def find(self, name):
        """The actor with this public key or call alias, or None."""
        actor = self.actors.get(name)
        if actor is not None:
            return actor
        if name:
            for actor in self.actors.values():
                if actor.alias == name:
                    return actor
        return None

    def get(self, name):
        actor = self.find(name)
        if actor is None:
            raise UnknownActor("no actor %s on this board" % name)
        return actor

    def caps_of(self, key):
        """The capabilities of an actor, also while its start functions run (they may make
        host calls before the actor is in the table)."""
        if self._loading is not None and self._loading[0] == key:
            return self._loading[1]
        actor = self.actors.get(key)
        return actor.caps if actor is not None else ()

    def _new_host(self, key, module, claims):
        if not self.has_engine:
            raise ActorRefused("actor %s: engine: this board has no wasm engine" % key)
        table = self

        def host_call(binding, namespace, operation, payload):
            return table._host_call(key, binding, namespace, operation, payload)

        def on_log(text):
            table._on_log(key, text)

        self._loading = (key, _caps(claims))
        gc.collect()  # the engine's runtime and the module's memory come next
        try:
            return WapcHost(key, module, host_call, self.wapc_limits, on_log, self._engine)
        except ModuleRefused as exc:
            raise ActorRefused("actor %s: %s: %s" % (key, exc.rule, exc.reason))
        except WapcError as exc:  # a start function trapped
            raise ActorRefused(str(exc))
        except MemoryError:
            raise ActorRefused("actor %s: memory: not enough free heap to load it" % key)
        finally:
            self._loading = None

    def _check_alias(self, key, claims):
        alias = (claims.get("wascap") or {}).get("call_alias")
        holder = self.find(alias) if alias else None
        if holder is not None and holder.key != key:
            raise ActorRefused("actor %s: call alias %s is taken by actor %s"
                               % (key, alias, holder.key))

    def install(self, key, module, token, sha256, checked=False, budget=None):
        """Check and load a module; returns (actor, added) where added is False for a
        module already held under the same digest. `budget` is what the board has left
        (by default its limits less what the actors in the table use).

        `checked` says the module is byte for byte one whose claims were checked when it
        was installed (the store proved its digest at boot): the claims are only read then,
        not checked against a second pass over the module.
        """
        held = self.actors.get(key)
        if held is not None and held.sha256 == sha256:
            return held, False
        if held is not None:
            raise ActorRefused("actor %s: already installed with another module; swap it"
                               % key)
        if len(self.actors) >= self.max_actors:
            raise ActorRefused("actor %s: slots: the board holds %d actors, its limit"
                               % (key, len(self.actors)))
        if checked and token:
            claims = _read_claims(key, token)
        else:
            claims, token = check_claims(key, module, token)
        self._check_alias(key, claims)
        needs = self.check_fits(key, module, budget or self.budget())
        actor = Actor(key, claims, token, sha256, self._new_host(key, module, claims),
                      needs.ram(self.maps))
        self.actors[key] = actor
        return actor, True

    def swap(self, key, module, token, sha256, budget=None):
        """Hot swap: the old module keeps serving if the new one is refused. Both are in
        RAM while the new one loads, so it must fit beside the old one."""
        actor = self.get(key)
        claims, token = check_claims(key, module, token)
        self._check_alias(key, claims)
        needs = self.check_fits(key, module, budget or self.budget(), new_slot=False)
        if not self.has_engine:
            raise ActorRefused("actor %s: engine: this board has no wasm engine" % key)
        self._loading = (key, _caps(claims))  # the new module's start functions run first
        try:
            actor.host.swap(module)
        except ModuleRefused as exc:
            raise ActorRefused("actor %s: %s: %s" % (key, exc.rule, exc.reason))
        except WapcError as exc:
            raise ActorRefused(str(exc))
        finally:
            self._loading = None
        updated = Actor(key, claims, token, sha256, actor.host, needs.ram(self.maps))
        self.actors[key] = updated
        return updated

    def remove(self, name):
        actor = self.get(name)
        del self.actors[actor.key]
        actor.host.close()
        gc.collect()
        return actor

    def close(self):
        for actor in self.actors.values():
            actor.host.close()
        self.actors = {}
