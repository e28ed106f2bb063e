"""The board store's scenarios (modules in the mapped region, see edgemodule.region), written once
to run under CPython (the simulator's store, modules read into RAM) and under the board's
MicroPython (the region mapped by the wasm3 module). Each prints what a user would see.

Run as `run(name, actors_dir)` in an empty working folder; `out(line)` collects the lines.
"""

import binascii

from edgehost import port
from edgehost.store import ActorStore
from edgelink import hmac256
from edgemodule.region import DATA_START, SECTOR, extent

SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


class PowerCut(Exception):
    pass


class CutFlash:
    """A region whose power goes after `budget` bytes written or erased: the byte that was
    being written when it went, and everything after, never reach the flash. Like NOR flash,
    a write may only program erased bytes: `unerased` counts writes that did not."""

    def __init__(self, flash, budget):
        self._flash = flash
        self.size = flash.size
        self.budget = budget
        self.spent = 0
        self.unerased = 0

    def _spend(self, n):
        left = self.budget - self.spent
        self.spent += n
        return left

    def readinto(self, offset, buf):
        self._flash.readinto(offset, buf)

    def read(self, offset, n):
        return self._flash.read(offset, n)

    def write(self, offset, data):
        was = bytearray(len(data))
        self._flash.readinto(offset, was)
        if was != b"\xff" * len(data):
            self.unerased += 1
        left = self._spend(len(data))
        if left < len(data):
            self._flash.write(offset, bytes(data)[:max(0, left)])
            raise PowerCut()
        self._flash.write(offset, data)

    def erase(self, offset, length):
        left = self._spend(length)
        if left < length:
            self._flash.erase(offset, max(0, left))
            raise PowerCut()
        self._flash.erase(offset, length)

    def sync(self):
        self._flash.sync()

    def mapped(self, offset, length):
        return self._flash.mapped(offset, length)


def module(size, fill):
    """A module-shaped blob of `size` bytes (the store does not parse what it keeps)."""
    body = bytes([fill]) * (size - 8)
    return b"\x00asm\x01\x00\x00\x00" + body


def digest(data):
    return hmac256.sha256(data).digest()


# The power-cut run: a region of ten data sectors, filled, fragmented, then asked for a
# module that fits only after compaction slides B down by one sector in three steps.
CAPACITY = 10 * SECTOR
A = module(6000, 0x61)
B = module(9000, 0x62)
C = module(3000, 0x63)
C2 = module(3500, 0x43)
D = module(6 * SECTOR - 100, 0x64)
OPERATIONS = [("save", "A", A), ("save", "B", B), ("save", "C", C), ("remove", "A", None),
              ("save", "C", C2), ("save", "D", D), ("remove", "B", None),
              ("save", "A", A)]


def _apply(store, op):
    kind, key, data = op
    if kind == "save":
        store.save(key, data, {"bytes": len(data)})
    else:
        store.remove(key)


def _states():
    """The actors (key -> module digest) after each prefix of OPERATIONS."""
    state = {}
    states = [dict(state)]
    for kind, key, data in OPERATIONS:
        if kind == "save":
            state[key] = digest(data)
        else:
            state.pop(key, None)
        states.append(dict(state))
    return states


def _restored(root):
    """(key -> digest of the module that comes back, problems) after a reboot."""
    store = ActorStore(root, CAPACITY)
    kept, dropped = store.restore()
    problems = []
    found = {}
    for record in kept:
        data = store.load_module(record)
        found[record["key"]] = digest(data)
        if binascii.hexlify(digest(data)).decode() != record["digest"]:
            problems.append("%s restored with bytes that are not its module" % record["key"])
    used = 0
    for entry in store.region.entries:
        used += extent(entry[1])
        if entry[2] not in found.values():
            problems.append("a module no actor uses still takes flash")
    if store.used_bytes() != used:
        problems.append("flash used %d, modules take %d" % (store.used_bytes(), used))
    return found, store, problems


@scenario
def power_cut_at_every_phase(out, load):
    """A cut after N bytes, for N across every write and erase the operations make: each
    reboot finds the actors as they were before the operation it cut or as after it."""
    opened = port.open_region
    states = _states()
    cut = [None]

    def cut_region(root, size):
        flash = CutFlash(opened(root, size), cut[0])
        cut[1:] = [flash]
        return flash

    port.open_region = cut_region
    try:
        # a run with no cut says how many bytes the operations write
        cut[0] = 1 << 30
        store = ActorStore("full", CAPACITY)
        for op in OPERATIONS:
            _apply(store, op)
        total = cut[1].spent
        out("operations write %d bytes, %d index commits, %d writes to unerased flash"
            % (total, store.region.seq, cut[1].unerased))
        bad = []
        runs = 0
        step = 97  # a prime, so the cuts land at every offset within sectors and entries
        for n in list(range(0, total, step)) + [total - 1]:
            root = "cut%d" % n
            cut[0] = n
            done = 0
            try:
                store = ActorStore(root, CAPACITY)
                for op in OPERATIONS:
                    _apply(store, op)
                    done += 1
            except PowerCut:
                pass
            port.open_region = opened
            try:
                found, store, problems = _restored(root)
                if found != states[done] and found != states[min(done + 1, len(OPERATIONS))]:
                    problems.append("actors %s match no state around operation %d"
                                    % (sorted(found), done))
                # the board goes on: the rest of the operations still fit
                for op in OPERATIONS[done:]:
                    _apply(store, op)
                if _restored(root)[0] != states[-1]:
                    problems.append("the operations after the reboot left another state")
            finally:
                port.open_region = cut_region
            runs += 1
            if problems and len(bad) < 5:
                bad.append("cut at %d (operation %d): %s" % (n, done, "; ".join(problems)))
        out("%d cuts, %s" % (runs, "; ".join(bad) if bad else "every reboot consistent"))
    finally:
        port.open_region = opened


@scenario
def compaction_under_fragmentation(out, load):
    """Many modules of many sizes, every other one removed, then one that fits only in the
    free space taken together: it is stored and every other module keeps its bytes."""
    store = ActorStore("flash", 64 * SECTOR)
    kept = {}
    for i in range(12):
        data = module(1000 + 1700 * i, 0x30 + i)
        store.save("K%d" % i, data, {})
        kept["K%d" % i] = data
    for i in range(0, 12, 2):
        store.remove("K%d" % i)
        del kept["K%d" % i]
    free = store.region.capacity() - store.used_bytes()
    largest = 0
    at = DATA_START
    for entry in store.region.entries:
        largest = max(largest, entry[0] - at)
        at = entry[0] + extent(entry[1])
    largest = max(largest, store.region.size - at)
    big = module(free - 10, 0x7A)
    out("free %d bytes in pieces, the largest %d; a module of %d" % (
        free, largest, len(big)) if largest < len(big) else "not fragmented")
    store.save("BIG", big, {})
    kept["BIG"] = big
    kept_records, dropped = ActorStore("flash", 64 * SECTOR).restore()
    again = ActorStore("flash", 64 * SECTOR)
    whole = all(again.load_module(r) == kept[r["key"]] for r in kept_records)
    out("restored %d actors, dropped %d, all whole: %s, free %d" % (
        len(kept_records), len(dropped), whole, again.region.capacity() - again.used_bytes()))
    try:
        again.save("MORE", module(2 * SECTOR, 0x21), {})
    except Exception as exc:
        out("full: %s" % exc)


@scenario
def swap_and_compaction_while_mapped(out, load):
    """An actor answers from its stored module while a new one is written for it, while it
    is swapped, and after a compaction has moved it (it is loaded again from where it went)."""
    from edgehost.wapc import WapcHost

    echo = load("echo")
    filler = module(3 * SECTOR, 0x66)
    hosts = {}

    def moved(digests):
        for key in hosts:
            if hosts[key][1] in digests:
                hosts[key][0].swap(store.module_of(hosts[key][1]))
                out("reloaded %s after compaction" % key)

    store = ActorStore("flash", 64 * SECTOR, moved)
    store.save("FILL", filler, {})
    record = store.save("ECHO", echo, {})
    host = WapcHost("echo", store.load_module(record))
    hosts["ECHO"] = [host, digest(echo)]
    out("run in place: %s" % store.in_place)
    out(repr(host.call("Echo", b"one")))
    grown = echo + b"\x00\x08\x05extra\x01\x02"  # a custom section: the same code, new digest
    staged = store.stage(len(grown))
    half = len(grown) // 2
    staged.write(grown[:half])
    out("while the new one arrives: %r" % host.call("Echo", b"two"))
    staged.write(grown[half:])
    store.commit("ECHO", staged, binascii.hexlify(digest(grown)).decode(), {})
    out("after its record moved on: %r" % host.call("Echo", b"three"))
    host.swap(store.module_of(digest(grown)))
    hosts["ECHO"][1] = digest(grown)
    out("swapped: %r" % host.call("Echo", b"four"))
    store.remove("FILL")  # a gap below the actor's module: the next big install compacts
    big = module(store.region.capacity() - store.used_bytes() - 100, 0x42)
    store.save("BIG", big, {})
    out("after compaction: %r" % host.call("Echo", b"five"))
    kept, dropped = ActorStore("flash", 64 * SECTOR).restore()
    out("after a reboot: %s, dropped %d" % (sorted(r["key"] for r in kept), len(dropped)))


def run(name, actors_dir, out=print):
    def load(actor):
        with open(actors_dir + "/" + actor + ".wasm", "rb") as stream:
            return stream.read()

    SCENARIOS[name](out, load)
