"""The module region: installed modules laid out whole in one mappable flash region, with its index.

A module runs in place only if its bytes are contiguous in an address range the chip maps, and
files on LittleFS are neither; so modules live in a region of their own (a flash partition on
the ESP32, a file on the simulators; see edgehost.port.open_region) that this module lays out:

    sector 0, sector 1      two index slots; the valid one with the higher sequence number
                            is the index (a slot is erased and rewritten whole, so a cut
                            while one is written leaves the other)
    sector 2 ...            module extents, each starting on a sector boundary

An index slot: magic, sequence, entry count, the move in progress (entry number or NO_MOVE,
its destination, the bytes moved so far), the entries (offset, size, SHA-256), then the
SHA-256 of all of that. A module's bytes go into free space first and only then into the
index, so a cut before the index is written leaves the free space it was going into.

Compaction slides a module down into the free space below it one step at a time, a step no
longer than the gap, so a step never overwrites bytes not yet copied; after each step the
index records how far the move has come, and `ModuleRegion()` finishes a move it finds
half done. A moved module's old bytes are gone, so the board compacts only while no call is in
flight and loads what it moved again. Live modules are never written over otherwise: a new
module or a swap takes free space, and an extent is freed only when the index no longer names
it.
"""

import struct

from edgelink import hmac256

PARTITION = "modules"  # the region's label in an ESP32's partition table
SECTOR = 4096
SLOTS = 2
DATA_START = SLOTS * SECTOR
MAGIC = b"EHMR"
HEADER = "<4sIHHII"  # magic, sequence, count, moving entry, move destination, bytes moved
HEADER_SIZE = struct.calcsize(HEADER)
ENTRY = "<II32s"  # offset, size, SHA-256
ENTRY_SIZE = struct.calcsize(ENTRY)
NO_MOVE = 0xFFFF
MAX_ENTRIES = (SECTOR - HEADER_SIZE - 32) // ENTRY_SIZE
COPY = 1024  # bytes copied at a time while compacting


def extent(size):
    """Flash an extent of `size` bytes takes: whole sectors, at least one."""
    return max(SECTOR, (size + SECTOR - 1) // SECTOR * SECTOR)


class RegionError(Exception):
    """The region cannot do what was asked; the message says what and why."""


class ModuleRegion:
    """The modules in a region of `flash` (see edgehost.port.FileFlash for what it offers).

    `entries` is a list of [offset, size, sha256 digest] sorted by offset. Opening the region
    reads its index and finishes a compaction a power cut interrupted.
    """

    def __init__(self, flash):
        self.flash = flash
        self.size = flash.size - flash.size % SECTOR
        if self.size <= DATA_START:
            raise RegionError("module region of %d bytes: needs more than %d bytes"
                              % (flash.size, DATA_START))
        self.entries = []
        self.seq = 0
        self._slot = SLOTS - 1  # the next commit goes to slot 0
        self._reserved = []  # [offset, length] of modules on their way in
        self._buf = bytearray(COPY)
        move = self._read_index()
        if move is not None:
            self._move(move[0], move[1], move[2])

    # --- the index

    def _read_slot(self, slot):
        """(seq, entries, move) of a slot that checks out, else None."""
        h = hmac256.sha256()
        head = bytearray(HEADER_SIZE)
        self.flash.readinto(slot * SECTOR, head)
        magic, seq, count, moving, move_to, moved = struct.unpack(HEADER, head)
        if magic != MAGIC or count > MAX_ENTRIES:
            return None
        h.update(head)
        body = bytearray(count * ENTRY_SIZE)
        self.flash.readinto(slot * SECTOR + HEADER_SIZE, body)
        h.update(body)
        check = bytearray(32)
        self.flash.readinto(slot * SECTOR + HEADER_SIZE + len(body), check)
        if h.digest() != bytes(check):
            return None
        entries = []
        end = DATA_START
        for i in range(count):
            offset, size, digest = struct.unpack_from(ENTRY, body, i * ENTRY_SIZE)
            if offset < end or offset % SECTOR or offset + extent(size) > self.size:
                return None
            end = offset + extent(size)
            entries.append([offset, size, bytes(digest)])
        move = None
        if moving != NO_MOVE:
            if (moving >= count or move_to % SECTOR or move_to < DATA_START
                    or move_to >= entries[moving][0]):
                return None
            move = (moving, move_to, moved)
        return seq, entries, move

    def _read_index(self):
        best = None
        for slot in range(SLOTS):
            found = self._read_slot(slot)
            if found is not None and (best is None or found[0] > best[0]):
                best = found
                self._slot = slot
        if best is None:
            return None
        self.seq, self.entries, move = best
        return move

    def _commit(self, move=None):
        """Write the index to the slot not holding the current one (the commit point)."""
        slot = (self._slot + 1) % SLOTS
        base = slot * SECTOR
        moving, move_to, moved = move if move is not None else (NO_MOVE, 0, 0)
        seq = self.seq + 1
        h = hmac256.sha256()
        self.flash.erase(base, SECTOR)
        head = struct.pack(HEADER, MAGIC, seq, len(self.entries), moving, move_to, moved)
        h.update(head)
        self.flash.write(base, head)
        at = base + HEADER_SIZE
        for offset, size, digest in self.entries:
            entry = struct.pack(ENTRY, offset, size, digest)
            h.update(entry)
            self.flash.write(at, entry)
            at += ENTRY_SIZE
        self.flash.write(at, h.digest())
        self.flash.sync()
        self.seq = seq
        self._slot = slot

    # --- space

    def _taken(self):
        """[offset, length] of every extent in use or on its way in, sorted by offset."""
        taken = [[e[0], extent(e[1])] for e in self.entries] + self._reserved
        taken.sort()
        return taken

    def used_bytes(self):
        total = 0
        for _, length in self._taken():
            total += length
        return total

    def reserved_bytes(self):
        total = 0
        for _, length in self._reserved:
            total += length
        return total

    def capacity(self):
        """Bytes the region has for modules (its index sectors left out)."""
        return self.size - DATA_START

    def _gap(self, length):
        """Offset of the first free extent of `length` bytes, or None."""
        at = DATA_START
        for offset, taken in self._taken():
            if offset - at >= length:
                return at
            at = max(at, offset + taken)
        return at if self.size - at >= length else None

    def reserve(self, size, compact=None):
        """The offset of a free extent for a module of `size` bytes, kept until released or
        added. Where free space is there but in pieces, `compact()` (if given) is asked to
        compact first. RegionError when the region cannot take it."""
        length = extent(size)
        at = self._gap(length)
        free = self.capacity() - self.used_bytes()
        if at is None and free >= length:
            if compact is None:
                # the modules a compaction moves may be running: a call is in flight
                raise RegionError("its %d free bytes are in pieces until the call in flight "
                                  "ends; try again then" % free)
            compact()
            at = self._gap(length)
        if at is None:
            raise RegionError("only %d of the module region's %d bytes are free"
                              % (free, self.capacity()))
        self._reserved.append([at, length])
        return at

    def release(self, offset):
        for r in self._reserved:
            if r[0] == offset:
                self._reserved.remove(r)
                return

    def find(self, digest):
        for entry in self.entries:
            if entry[2] == digest:
                return entry
        return None

    def add(self, offset, size, digest):
        """Put a module written at `offset` into the index (the commit point of its bytes)."""
        self.release(offset)
        if self.find(digest) is not None:
            return
        if len(self.entries) >= MAX_ENTRIES:
            raise RegionError("the module region's index holds %d modules, its limit"
                              % MAX_ENTRIES)
        self.entries.append([offset, size, digest])
        self.entries.sort()
        self._commit()

    def keep_only(self, digests):
        """Drop from the index every module whose digest is not in `digests`."""
        kept = [e for e in self.entries if e[2] in digests]
        if len(kept) != len(self.entries):
            self.entries = kept
            self._commit()

    # --- bytes

    def write(self, offset, data, written):
        """Write `data` at `offset` + `written` of an extent, erasing each sector it enters."""
        start = offset + written
        end = start + len(data)
        sector = (start + SECTOR - 1) // SECTOR * SECTOR
        while sector < end:
            self.flash.erase(sector, SECTOR)
            sector += SECTOR
        self.flash.write(start, data)

    def digest_of(self, offset, size):
        h = hmac256.sha256()
        view = memoryview(self._buf)
        done = 0
        while done < size:
            n = min(COPY, size - done)
            self.flash.readinto(offset + done, view[:n])
            h.update(view[:n])
            done += n
        return h.digest()

    def module(self, offset, size):
        """A module's bytes: in place where the port maps the region, else read into RAM."""
        mapped = self.flash.mapped(offset, size)
        return mapped if mapped is not None else self.flash.read(offset, size)

    # --- compaction

    def compact(self):
        """Slide every module down over the free space below it; returns the digests of
        those moved (their old bytes are gone: whoever ran them must load them again)."""
        if self._reserved:
            raise RegionError("the module region cannot be compacted while a module is "
                              "being written")
        moved = []
        at = DATA_START
        for i in range(len(self.entries)):
            entry = self.entries[i]
            if entry[0] > at:
                self._move(i, at, 0)
                moved.append(entry[2])
            at = entry[0] + extent(entry[1])
        return moved

    def _move(self, i, to, moved):
        """Move entry `i` down to `to`, `moved` bytes of it already there."""
        entry = self.entries[i]
        source, size = entry[0], entry[1]
        step = source - to  # a step no longer than the gap never overwrites uncopied bytes
        view = memoryview(self._buf)
        while moved < size:
            n = min(step, size - moved)
            self.flash.erase(to + moved, extent(n))
            done = 0
            while done < n:
                piece = min(COPY, n - done)
                self.flash.readinto(source + moved + done, view[:piece])
                self.flash.write(to + moved + done, view[:piece])
                done += piece
            moved += n
            if moved < size:
                self._commit((i, to, moved))
        entry[0] = to
        self._commit()
