"""The board's side of the ahead-of-time tier: translations checked, kept beside the actors,
loaded at install and at boot, and run where they match (wasm3 everywhere else).

Imported only by a board whose config holds a native_key. A translation is accepted only if
its binding (edgemodule.translation) names this actor's module, this board's architecture,
.mpy version, firmware and compiled-in limits, and is signed with the board's native-code
key; anything else is refused with one log line and the actor runs on wasm3. Native code
loaded into MicroPython is freed only at a reboot: what was loaded since boot counts against
the profile's native_code_bytes, and a removed or replaced translation still counts.

    native/<actor key>.json   the binding, signature and file name of the actor's translation
    native/n<sha256>.mpy      the translation (named by its SHA-256: a name is imported once)
"""

import binascii
import json
import os
import sys

from edgehost import aotengine, port
from edgehost import engine as wasm3_engine
from edgehost.engine import EngineError, trap_cause
from edgelink import hmac256
from edgemodule import translation
from edgemodule.translation import TranslationRefused

CHUNK = 1024
ENGINE_AOT = "aot"
ENGINE_WASM3 = "wasm3"


def _hex(digest):
    return str(binascii.hexlify(digest), "ascii")


def compiled_limits():
    """The limits a translation bakes in (the rest it takes when instantiated)."""
    return "countdown=%d" % aotengine.COUNTDOWN


def board_facts(firmware):
    """This board's side of a binding (all of it but the module and the .mpy), or None where
    the runtime loads no native code."""
    number = getattr(sys.implementation, "_mpy", 0)
    if port.IMPLEMENTATION != "micropython" or not number >> 10:
        return None  # CPython has no .mpy; CircuitPython loads no native code from one
    arch, mpy = translation.runtime_facts(number)
    return {"arch": arch, "mpy": mpy, "firmware": firmware, "limits": compiled_limits()}


class TierEngine:
    """An engine (edgehost.engine's shape) that runs a module's translation where it has one
    and wasm3 (`fallback`) for the rest, so an actor moves between them by a swap."""

    EngineError = EngineError

    def __init__(self, fallback=None):
        self.natives = {}  # module SHA-256 (hex) -> its translation's native module
        self._fallback = fallback or wasm3_engine

    @staticmethod
    def trap_cause(exc):
        return trap_cause(exc)

    def Instance(self, module_bytes, stack_bytes, memory_pages=0, deadline_ms=0):  # noqa: N802
        if self.natives:
            native = self.natives.get(_hex(hmac256.sha256(module_bytes).digest()))
            if native is not None:
                # found by the hash just taken: AotEngine.Instance would take it again
                return aotengine.AotInstance(native, stack_bytes, memory_pages, deadline_ms)
        return self._fallback.Instance(module_bytes, stack_bytes, memory_pages, deadline_ms)

    def name_of(self, digest):
        """The engine that runs the module whose SHA-256 is `digest` (bytes)."""
        return ENGINE_AOT if _hex(digest) in self.natives else ENGINE_WASM3


class NativeTier:
    """Translations of the actors under `root`/native, checked with `key` against `facts`
    (board_facts), loaded within `budget` bytes of native code per boot; refusals go to
    `log(level, text, actor)`."""

    def __init__(self, key, root, budget, facts, log, fallback=None):
        self._key = key
        self.folder = root + "/native"
        port.makedirs(self.folder)
        self.budget = budget
        self.facts = facts
        self._log = log
        self.engine = TierEngine(fallback)
        self.loaded = {}  # module name -> bytes of native code it took, since boot

    def loaded_bytes(self):
        total = 0
        for size in self.loaded.values():
            total += size
        return total

    def _record_path(self, key):
        return "%s/%s.json" % (self.folder, key)

    def _expected(self, digest):
        expected = dict(self.facts)
        expected["module"] = _hex(digest)
        return expected

    def offer(self, actor, fields, signature, body, module):
        """Take a translation from the gateway for `actor` (its module's bytes: `module`);
        returns the engine the actor runs on after it."""
        try:
            if not isinstance(body, (bytes, bytearray)):
                raise TranslationRefused("no translation sent")
            translation.check(self._key, fields, signature, self._expected(actor.sha256))
            arch, mpy = translation.mpy_facts(body)
            if (arch, mpy) != (self.facts["arch"], self.facts["mpy"]):
                raise TranslationRefused("the .mpy is for %s %s, not %s %s"
                                         % (arch, mpy, self.facts["arch"], self.facts["mpy"]))
            if _hex(hmac256.sha256(body).digest()) != fields["native"]:
                raise TranslationRefused("native: the .mpy's SHA-256 is not the one signed")
            name = "n" + fields["native"][:24]
            self._check_budget(name, len(body))
            self.drop(actor.key)  # a translation it had before (its code stays loaded)
            self._write(actor.key, name, body, fields, signature)
        except (TranslationRefused, OSError) as exc:
            return self._refused(actor.key, exc)
        return self._run(actor, name, module)

    def _check_budget(self, name, size):
        if name in self.loaded:
            return  # loaded since boot: its code is there already
        if self.loaded_bytes() + size > self.budget:
            raise TranslationRefused(
                "native_code_bytes: %d bytes of native code would join the %d loaded since "
                "boot, over the budget of %d (freed only at a reboot)"
                % (size, self.loaded_bytes(), self.budget))

    def _write(self, key, name, body, fields, signature):
        path = "%s/%s.mpy" % (self.folder, name)
        with open(path + ".tmp", "wb") as f:
            f.write(body)
        port.remove(path)
        os.rename(path + ".tmp", path)
        record = dict(fields)
        record["sig"] = _hex(signature)
        record["file"] = name
        tmp = self._record_path(key) + ".tmp"
        with open(tmp, "w") as f:
            f.write(json.dumps(record))
        self._remove_record(key)
        os.rename(tmp, self._record_path(key))
        port.sync()

    def _load(self, name):
        path = "%s/%s.mpy" % (self.folder, name)
        size = port.file_size(path)
        self._check_budget(name, size)
        try:
            native = aotengine.load(path)
        except EngineError as exc:
            raise TranslationRefused(str(exc))
        self.loaded[name] = size
        return native

    def _run(self, actor, name, module):
        """Move `actor` onto its translation; on wasm3 still if it cannot run."""
        digest = _hex(actor.sha256)
        try:
            self.engine.natives[digest] = self._load(name)
            actor.host.swap(module)
        except Exception as exc:  # noqa: BLE001 - whatever stops it, wasm3 serves on
            self.drop(actor.key, actor.sha256)
            return self._refused(actor.key, exc)
        self._log("info", "actor %s runs its translation (native code, %d of %d bytes loaded "
                  "since boot)" % (actor.key, self.loaded_bytes(), self.budget), actor.key)
        return ENGINE_AOT

    def _refused(self, key, reason):
        self._log("warn", "actor %s: translation refused, it runs on wasm3: %s"
                  % (key, reason), key)
        return ENGINE_WASM3

    def restore(self, key, digest):
        """Before actor `key` (module SHA-256 `digest`) is restored at boot: its stored
        translation checked again (a firmware update invalidates it) and loaded."""
        try:
            with open(self._record_path(key)) as f:
                record = json.loads(f.read())
        except OSError:
            return  # none stored
        except ValueError:
            record = {}
        try:
            signature = binascii.unhexlify(record.get("sig") or "")
            translation.check(self._key, record, signature, self._expected(digest))
            name = record.get("file") or ""
            if _hex(_file_sha256("%s/%s.mpy" % (self.folder, name))) != record["native"]:
                raise TranslationRefused("native: the stored .mpy is not the one signed")
            self.engine.natives[_hex(digest)] = self._load(name)
        except (TranslationRefused, OSError, ValueError) as exc:
            self.forget(key, digest, exc)

    def forget(self, key, digest, reason):
        """An actor whose translation is refused or would not run at boot: wasm3 from now
        on, its translation deleted."""
        self.drop(key, digest)
        self._refused(key, reason)

    def drop(self, key, digest=None):
        """Delete actor `key`'s stored translation (at remove, swap or refusal). Its code, if
        loaded, stays in memory until a reboot and still counts in the budget."""
        if digest is not None:
            self.engine.natives.pop(_hex(digest), None)
        try:
            with open(self._record_path(key)) as f:
                name = json.loads(f.read()).get("file")
        except (OSError, ValueError):
            name = None
        self._remove_record(key)
        if name:
            port.remove("%s/%s.mpy" % (self.folder, name))
        port.sync()

    def _remove_record(self, key):
        port.remove(self._record_path(key))

    def keep_only(self, keys):
        """Drop what no restored actor uses (an actor dropped at boot, a cut-off write)."""
        used = []
        for name in port.listdir(self.folder):
            if name.endswith(".json") and name[:-5] in keys:
                try:
                    with open(self.folder + "/" + name) as f:
                        used.append(json.loads(f.read()).get("file"))
                except (OSError, ValueError):
                    pass
        for name in port.listdir(self.folder):
            stem = name.split(".")[0]
            if name.endswith(".tmp") or (stem not in keys and stem not in used):
                port.remove(self.folder + "/" + name)

    def report(self):
        """The tier's facts for the hello: what the gateway translates for."""
        facts = dict(self.facts)
        facts["budget"] = self.budget
        facts["loaded"] = self.loaded_bytes()
        return facts


def _file_sha256(path):
    digest = hmac256.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open(path, "rb") as f:
        n = f.readinto(buf)
        while n:
            digest.update(view[:n])
            n = f.readinto(buf)
    return digest.digest()
