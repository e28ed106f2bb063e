"""Whether a module fits a board: imports, exports, memory pages, RAM, flash and actor slots.

The gateway and `edgehost board fit` ask before anything is uploaded; the board asks again
before it runs the module. One verdict, the same reason on both sides.
"""

from edgemodule.region import extent
from edgemodule.wasminspect import CODE_SECTION, DATA_SECTION, PAGE, LimitBroken

WAPC_FUNCTIONS = {
    "__guest_request": "v(ii)",
    "__guest_response": "v(ii)",
    "__guest_error": "v(ii)",
    "__host_call": "i(iiiiiiii)",
    "__host_response_len": "i()",
    "__host_response": "v(i)",
    "__host_error_len": "i()",
    "__host_error": "v(i)",
    "__console_log": "v(ii)",
}
WASI_FUNCTIONS = {"fd_write": "i(iiii)"}
# What a guest may import, by import module: {module: {name: signature}}
HOST_FUNCTIONS = {"wapc": WAPC_FUNCTIONS, "wasmbus": WAPC_FUNCTIONS,
                  "wasi_snapshot_preview1": WASI_FUNCTIONS}

# The engine's share of an actor's RAM, from the heap an actor holds through WapcHost on the
# 32-bit build of the board's MicroPython (tools/bench/actor_heap.py; docs/PERFORMANCE.md has
# the table). A mapped actor's module costs nothing; read into RAM it costs its size.
# - wasm3's runtime, its 64 KiB stack and the host's objects: 82,224-87,872 bytes measured for
#   actors of 1-3 KB after a first call;
ENGINE_FIXED_BYTES = 88 * 1024
# - wasm3's record of each function, made at load: 72.3-72.7 bytes a function measured;
FUNCTION_BYTES = 76
# - compiled code: wasm3 compiles a function on its first call, 2.7 bytes per byte of code
#   when every function has run (measured); real actors reach a small part of theirs, and the
#   model leaves room for compiling about a tenth of the code section: a byte per 4 of code.
CODE_BYTES_PER_COMPILED_BYTE = 4
ENGINE_BASIS = ("wasm3 on the board, measured on its 32-bit MicroPython: %d KiB for the "
                "runtime and its stack, %d bytes per function, and room for compiled code of "
                "a byte per %d bytes of code (tools/bench/actor_heap.py)"
                % (ENGINE_FIXED_BYTES // 1024, FUNCTION_BYTES, CODE_BYTES_PER_COMPILED_BYTE))

# the rules a verdict can name, in the order they are checked
IMPORTS = "imports"
EXPORTS = "exports"
MEMORY = "memory"
RAM = "ram"
FLASH = "flash"
SLOTS = "slots"


def kib(n):
    return "%d KiB" % ((n + 1023) // 1024)


class Needs:
    """What a module asks of a board, from its inspection (see wasminspect.Inspection)."""

    def __init__(self, inspection, module_bytes):
        self.inspection = inspection
        self.pages = inspection.memory_pages
        self.memory_bytes = inspection.memory_pages * PAGE
        self.module_bytes = module_bytes
        self.code_bytes = inspection.section_bytes.get(CODE_SECTION, 0)
        self.data_bytes = inspection.section_bytes.get(DATA_SECTION, 0)
        self.functions = inspection.functions
        self.engine_bytes = (ENGINE_FIXED_BYTES + FUNCTION_BYTES * self.functions
                             + self.code_bytes // CODE_BYTES_PER_COMPILED_BYTE)
        # wasm3 keeps the module's bytes for as long as the instance lives: in RAM unless
        # the board runs it in place from mapped flash
        self.ram_bytes = self.memory_bytes + module_bytes + self.engine_bytes
        self.flash_bytes = extent(module_bytes)  # the module region gives whole sectors

    def ram(self, maps):
        """RAM the actor takes on a board that maps its modules (`maps`) or reads them in."""
        return self.ram_bytes - self.module_bytes if maps else self.ram_bytes

    def ram_parts(self, maps=False):
        if maps:
            return "linear memory %s + engine %s; the module's %s run from flash" % (
                kib(self.memory_bytes), kib(self.engine_bytes), kib(self.module_bytes))
        return "linear memory %s + module %s + engine %s" % (
            kib(self.memory_bytes), kib(self.module_bytes), kib(self.engine_bytes))


class Budget:
    """What a board has for one more actor: its limits less what its actors use. `maps`
    says the board runs modules in place from mapped flash, so they take no RAM."""

    def __init__(self, limits, ram_used=0, flash_used=0, actors=0, maps=False):
        self.limits = limits
        self.maps = maps
        self.pages = limits["max_pages_per_actor"]
        self.ram_bytes = limits["actor_ram_bytes"]
        self.flash_bytes = limits["module_flash_bytes"]
        self.slots = limits["max_actors"]
        self.ram_free = max(0, self.ram_bytes - ram_used)
        self.flash_free = max(0, self.flash_bytes - flash_used)
        self.slots_free = max(0, self.slots - actors)

    def report(self):
        """The budget as the board's hello says it (a map of integers)."""
        return {"ram": self.ram_bytes, "ram_free": self.ram_free, "pages": self.pages,
                "slots": self.slots, "slots_free": self.slots_free, "flash": self.flash_bytes,
                "flash_free": self.flash_free, "maps": self.maps}

    @classmethod
    def from_report(cls, report):
        """A budget from a hello's `budget` map; ValueError when it is not one."""
        try:
            limits = {"max_pages_per_actor": int(report["pages"]),
                      "actor_ram_bytes": int(report["ram"]),
                      "module_flash_bytes": int(report["flash"]),
                      "max_actors": int(report["slots"])}
            return cls(limits, limits["actor_ram_bytes"] - int(report["ram_free"]),
                       limits["module_flash_bytes"] - int(report["flash_free"]),
                       limits["max_actors"] - int(report["slots_free"]),
                       report.get("maps") is True)
        except (KeyError, TypeError, ValueError):
            raise ValueError("the board's budget report is not complete: %r" % (report,))


def refusal(needs, budget, new_slot=True):
    """None when the module fits the budget, else (rule, reason).

    `new_slot` is False for a module that replaces one (a hot swap takes no new slot).
    """
    try:
        needs.inspection.check(HOST_FUNCTIONS, budget.pages)
    except LimitBroken as exc:
        return exc.rule, exc.reason
    ram = needs.ram(budget.maps)
    if ram > budget.ram_free:
        held = "" if budget.ram_free == budget.ram_bytes else ", %s of them free" % kib(
            budget.ram_free)
        return RAM, "needs %s of RAM (%s), the board has %s for actors%s" % (
            kib(ram), needs.ram_parts(budget.maps), kib(budget.ram_bytes), held)
    if needs.flash_bytes > budget.flash_bytes:
        return FLASH, ("the module of %s is larger than the board's %s module region, all the "
                       "flash it %s for modules" % (kib(needs.module_bytes),
                                                    kib(budget.flash_bytes),
                                                    "maps" if budget.maps else "keeps"))
    if needs.flash_bytes > budget.flash_free:
        return FLASH, "the module of %s does not fit the %s of flash free for modules" % (
            kib(needs.module_bytes), kib(budget.flash_free))
    if new_slot and budget.slots_free <= 0:
        return SLOTS, "the board holds %d actors, its limit" % budget.slots
    return None
