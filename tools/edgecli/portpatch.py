"""What the builds change in the pinned sources: insertions after lines of MicroPython's ESP32 port
(the firmware build) and of wasm3's interpreter (every build of the wasm3 module), each checked
to be there before anything is written.

What is verified without ESP-IDF (tests/boards/test_boards_firmware.py): each insertion lands
where it must in the pinned sources, and its C, with the board header's defines, compiles
against MicroPython 1.28's own headers under the unix port's configuration. What is not: an
ESP-IDF build of the patched port, and a board running it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

# Python frames on a stack of their own (MICROPY_ENABLE_PYSTACK): without it, every function
# whose frame needs more than 11 words gets one from the heap and frees it on return, and the
# next allocation's first-fit search walks back over the freed block. On the unix port that
# made a waPC call cost 18-22 times a bare export call; with a pystack, about 2 (see
# docs/PERFORMANCE.md). The ESP32 port of MicroPython 1.28 does not set one up, so the build
# adds it.
#
# One fixed size for every profile, not one per profile: the pystack holds the chain of Python
# calls in progress, which is the same host code on every board (asyncio loop, link, request,
# dispatch, waPC call, host call through the link, msgpack, HMAC), not something that grows
# with an actor's RAM. Measured on the board's unix-port MicroPython (64-bit, where a word is
# twice an ESP32's), the deepest point the engine tests reach on it, host calls answered
# through the link included, used 4552 bytes; on the ESP32 that chain takes about half.
# 8 KiB (the unix port's own size in bytes) leaves room for nested actor-to-actor calls and
# user code, and costs 8 KiB of internal RAM (.bss): a pystack in PSRAM would slow every
# call. Threads started with _thread get MicroPython's own 128-word pystack each
# (py/modthread.c); the host code starts none.
PYSTACK_BYTES = 8 * 1024
MARK = "// edgehost:"
WRITTEN_FOR = {"micropython": "MicroPython 1.28.0", "wasm3": "wasm3 0.9.0 (c9b579d)"}


class PatchError(RuntimeError):
    """A change no longer applies to the sources it is given; one line naming the file."""


@dataclass(frozen=True)
class Insertion:
    """`text` goes right after `after`, which must be in the file `path` exactly once."""

    name: str
    path: str  # inside the tree of `source`
    after: str
    text: str
    source: str = "micropython"  # the pinned source (edgecli.mpbuild's name) it patches

    @property
    def shown_path(self) -> str:
        """The file as the dry run names it: wasm3's from above its tree."""
        return self.path if self.source == "micropython" else self.source + "/" + self.path

    def applied_to(self, source: str) -> str:
        """`source` with the insertion made (unchanged if it is there already)."""
        found = source.count(self.after)
        if found != 1:
            first = self.after.strip().splitlines()[0]
            raise PatchError("%s: the %s patch no longer applies: the lines it goes after "
                             "(from %r) are there %d times, not once; it is written for "
                             "%s's sources" % (self.shown_path, self.name, first, found,
                                               WRITTEN_FOR[self.source]))
        if self.after + self.text in source:
            return source
        return source.replace(self.after, self.after + self.text)


PYSTACK_SETUP = Insertion(
    "pystack", "ports/esp32/main.c",
    # mp_task, at each soft reset: pystack_init must come before mp_init (py/mpconfig.h), and
    # afresh each time, so that a soft reset starts with an empty pystack
    "soft_reset:\n"
    "    // initialise the stack pointer for the main thread\n"
    "    mp_cstack_init_with_top((void *)sp, MICROPY_TASK_STACK_SIZE);\n",
    "    %s Python frames on a stack of their own (see the board's mpconfigboard.h)\n"
    "    #if MICROPY_ENABLE_PYSTACK\n"
    "    static mp_obj_t edgehost_pystack[EDGEHOST_PYSTACK_BYTES / sizeof(mp_obj_t)];\n"
    "    mp_pystack_init(edgehost_pystack, &edgehost_pystack[MP_ARRAY_SIZE(edgehost_pystack)]);\n"
    "    #endif\n" % MARK)

# wasm3 probes the deadline (m3StackCheck, see the board's m3_board_config.h) where a loop
# branches back unconditionally (op_ContinueLoop), but not where it branches back on a condition
# (op_ContinueLoopIf): a counted loop without calls, which ends in br_if, never looked at the
# clock and ran on past the deadline. Its taken branch gets the same probe.
LOOP_IF_PROBE = Insertion(
    "loop-if-deadline", "source/m3_exec.h",
    "d_m3Op  (ContinueLoopIf)\n"
    "{\n"
    "    i32 condition = (i32) _r0;\n"
    "    void * loopId = immediate (void *);\n"
    "\n"
    "    if (condition)\n"
    "    {\n",
    "        m3StackCheck();  %s the deadline's probe, as op_ContinueLoop has it\n" % MARK,
    "wasm3")

INSERTIONS = (PYSTACK_SETUP, LOOP_IF_PROBE)


def config_defines() -> str:
    """What the board's mpconfigboard.h adds after the generic board's."""
    return ("%s Python frames on a stack of their own, set up in main.c's mp_task\n"
            "#define MICROPY_ENABLE_PYSTACK (1)\n"
            "#define EDGEHOST_PYSTACK_BYTES (%d)\n" % (MARK, PYSTACK_BYTES))


def of(source: str) -> tuple[Insertion, ...]:
    """The insertions in the pinned source named `source`."""
    return tuple(i for i in INSERTIONS if i.source == source)


def apply(tree: Path, source: str = "micropython",
          insertions: tuple[Insertion, ...] | None = None) -> None:
    """Make `insertions` (by default every one of the pinned source `source`) in that source's
    tree at `tree`."""
    for insertion in of(source) if insertions is None else insertions:
        path = tree / insertion.path
        try:
            source = path.read_text()
        except OSError as exc:
            raise PatchError("%s: the %s patch cannot read it: %s"
                             % (insertion.shown_path, insertion.name, exc.strerror)) from None
        patched = insertion.applied_to(source)
        if patched != source:
            path.write_text(patched)


def listing() -> list[dict[str, str]]:
    """The insertions as the dry run shows them."""
    return [{"name": i.name, "file": i.shown_path, "after": i.after, "text": i.text}
            for i in INSERTIONS]


def digest(insertions: tuple[Insertion, ...] = INSERTIONS) -> str:
    """SHA-256 of the insertions (all of them, for the image's manifest)."""
    h = hashlib.sha256()
    for insertion in insertions:
        h.update(("%s\0%s\0%s\0" % (insertion.path, insertion.after, insertion.text)).encode())
    return h.hexdigest()
