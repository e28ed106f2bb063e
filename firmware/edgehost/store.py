"""Installed actors on the board's flash, written so that a power cut never leaves one to run.

Modules live in the module region (see edgemodule.region): whole, each in one span the board
maps and runs in place. The actors live on the filesystem under the store's root:

    actors/<key>.json       the actor's record (digest, size, claims token, call alias, ...) as
                            one line of JSON, then a line with that line's SHA-256; this file
                            is the commit point

A module is written into free space as the link takes it and hashed as it goes; its digest
enters the region's index only once it is whole and checked, and the record after that. A
record is written under a `.tmp` name first and renamed into place. At boot, `restore()`
keeps only actors whose record checks out and whose module the index holds with the
recorded size and digest; anything cut off is dropped and reported, never run, and a module
no record names is dropped from the index.
"""

import binascii
import json
import os

from edgehost import port
from edgelink import hmac256
from edgemodule.region import DATA_START, ModuleRegion, RegionError, extent

CHUNK = 1024
# where firmware before the module region kept modules (modules/<sha256>.wasm) and uploads
OLD_FOLDERS = ("incoming", "modules")


def _hex(digest):
    return str(binascii.hexlify(digest), "ascii")


def _sha256_hex(data):
    return _hex(hmac256.sha256(data).digest())


class StoreError(Exception):
    """An actor could not be written to flash; the message says which and why."""


class StagedModule:
    """A module being written into free space of the region as it arrives, hashed as it goes;
    the store commits it by naming it in the region's index."""

    def __init__(self, region, offset, size):
        self._region = region
        self.offset = offset
        self.size = size
        self.reserved = extent(size)  # flash it holds while on its way in
        self.written = 0
        self._hash = hmac256.sha256()
        self._digest = None

    def write(self, data):
        n = len(data)
        if self.written + n > self.size:
            raise OSError("module longer than the %d bytes announced" % self.size)
        self._region.write(self.offset, data, self.written)
        self._hash.update(data)
        self.written += n

    def close(self):
        pass  # nothing is buffered: each write is on flash

    def digest(self):
        """The SHA-256 of what was written (MicroPython's hash is final once asked)."""
        if self._digest is None:
            self._digest = self._hash.digest()
        return self._digest

    def read(self):
        """The module's bytes for the engine: in place where the port maps the region."""
        return self._region.module(self.offset, self.size)

    def discard(self):
        self._region.release(self.offset)


class ActorStore:
    """Actors under `root` and their modules in a region of `capacity` bytes for modules.

    `moved(digests)` is told which modules a compaction moved: their old bytes are gone, so
    whatever runs them in place must load them again.
    """

    def __init__(self, root, capacity=1 << 20, moved=None):
        self.root = root
        self.actors_dir = root + "/actors"
        port.makedirs(self.actors_dir)
        try:
            flash = port.open_region(root, DATA_START + extent(capacity))
            self.region = ModuleRegion(flash)
        except (OSError, RegionError) as exc:
            raise StoreError("cannot open the module region: %s" % exc)
        self.in_place = flash.mapped(DATA_START, 0) is not None
        self._moved = moved

    def record_path(self, key):
        return "%s/%s.json" % (self.actors_dir, key)

    def used_bytes(self):
        """Flash taken by modules, those on their way in included."""
        return self.region.used_bytes()

    def incoming_bytes(self):
        """Flash held by modules on their way in."""
        return self.region.reserved_bytes()

    def stage(self, size, may_move=True):
        """A new StagedModule of `size` bytes; StoreError when flash cannot take it.

        `may_move` allows a compaction when free space is there but in pieces; False while a
        call is in flight, since the modules it moves run in place."""
        compact = self._compact if may_move else None
        try:
            return StagedModule(self.region, self.region.reserve(size, compact), size)
        except RegionError as exc:
            raise StoreError("cannot start writing a module of %d bytes to flash: %s"
                             % (size, exc))

    def _compact(self):
        moved = self.region.compact()
        if moved and self._moved is not None:
            self._moved(moved)

    def save(self, key, module, record):
        """Store `module` (bytes) for actor `key` with `record` (a JSON-able dict)."""
        staged = self.stage(len(module))
        try:
            view = memoryview(module)
            for start in range(0, len(module), CHUNK):
                staged.write(view[start:start + CHUNK])
        except OSError as exc:
            staged.discard()
            raise StoreError("cannot write module of actor %s to flash: %s" % (key, exc))
        return self.commit(key, staged, _hex(staged.digest()), record)

    def commit(self, key, staged, digest, record):
        """Make a staged module (its SHA-256 must be `digest`, lower-case hex) actor `key`'s,
        with `record` (a JSON-able dict); a power cut leaves the old state.

        Returns the record as stored, with `digest` and `size` added.
        """
        got = _hex(staged.digest())
        if staged.written != staged.size or got != digest:
            staged.discard()
            raise StoreError("module of actor %s: %d of %d bytes with SHA-256 %s, expected %s"
                             % (key, staged.written, staged.size, got, digest))
        try:
            self.region.add(staged.offset, staged.size, staged.digest())
        except (OSError, RegionError) as exc:
            staged.discard()
            raise StoreError("cannot write module of actor %s to flash: %s" % (key, exc))
        stored = dict(record)
        stored["key"] = key
        stored["digest"] = digest
        stored["size"] = staged.size
        try:
            self._write_record(key, stored)
        finally:
            port.sync()
            self._drop_unused_modules()  # a module no record names leaves the index
        return stored

    def _write_record(self, key, record):
        path = self.record_path(key)
        tmp = path + ".tmp"
        try:
            body = json.dumps(record).encode()
            with open(tmp, "wb") as f:
                f.write(body)
                f.write(b"\n")
                f.write(_sha256_hex(body).encode())
            # A complete .tmp with a valid check is recovered at boot if the cut comes
            # between this remove and the rename (FAT's rename does not replace).
            port.remove(path)
            os.rename(tmp, path)
        except OSError as exc:
            port.remove(tmp)
            raise StoreError("cannot write record of actor %s to flash: %s" % (key, exc))

    def remove(self, key):
        port.remove(self.record_path(key))
        port.remove(self.record_path(key) + ".tmp")
        port.sync()
        self._drop_unused_modules()

    def _entry(self, record):
        entry = self.region.find(binascii.unhexlify(record["digest"]))
        if entry is None or entry[1] != record["size"]:
            return None
        return entry

    def load_module(self, record):
        """The module bytes of a restored record: in place where the port maps the region
        (no copy in RAM), else read."""
        entry = self._entry(record)
        if entry is None:
            raise OSError("module %s is not in the module region" % record["digest"])
        return self.region.module(entry[0], entry[1])

    def module_of(self, digest):
        """The bytes of the stored module whose SHA-256 is `digest` (bytes), as load_module."""
        entry = self.region.find(digest)
        if entry is None:
            raise OSError("module %s is not in the module region" % _hex(digest))
        return self.region.module(entry[0], entry[1])

    def _read_record(self, path):
        try:
            with open(path, "rb") as f:
                body, _, check = f.read().rpartition(b"\n")
            if _sha256_hex(body).encode() != check:
                return None
            record = json.loads(body)
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or "digest" not in record or "size" not in record:
            return None
        return record

    def restore(self):
        """Check what is on flash; returns (records that are whole, [(name, reason) dropped])."""
        kept = []
        dropped = []
        names = port.listdir(self.actors_dir)
        for name in names:  # finish renames a power cut interrupted
            if name.endswith(".json.tmp") and name[:-4] not in names:
                tmp = self.actors_dir + "/" + name
                if self._read_record(tmp) is not None:
                    os.rename(tmp, tmp[:-4])
        for name in port.listdir(self.actors_dir):
            path = self.actors_dir + "/" + name
            if name.endswith(".tmp"):
                port.remove(path)
                continue
            record = self._read_record(path)
            if record is None:
                dropped.append((name, "record cut off or corrupt"))
                port.remove(path)
                continue
            entry = self._entry(record) or self._adopt(record)
            if entry is None or _hex(self.region.digest_of(entry[0], entry[1])) != record[
                    "digest"]:
                dropped.append((record["key"], "module cut off or corrupt"))
                port.remove(path)
                continue
            kept.append(record)
        self._drop_unused_modules()
        for folder in OLD_FOLDERS:
            path = self.root + "/" + folder
            for name in port.listdir(path):
                port.remove(path + "/" + name)
            try:
                os.rmdir(path)
            except OSError:
                pass  # not there
        return kept, dropped

    def _adopt(self, record):
        """The region entry of a module an older firmware kept as a file, copied into the
        region (the file goes once the region holds it); None when there is none whole."""
        path = "%s/modules/%s.wasm" % (self.root, record["digest"])
        size = port.file_size(path)
        if not size or size != record["size"]:
            return None
        try:
            staged = self.stage(size)
        except StoreError:
            return None
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        try:
            with open(path, "rb") as f:
                n = f.readinto(buf)
                while n:
                    staged.write(view[:n])
                    n = f.readinto(buf)
            if _hex(staged.digest()) != record["digest"] or staged.written != size:
                raise OSError("cut off or corrupt")
            self.region.add(staged.offset, size, staged.digest())
        except (OSError, RegionError):
            staged.discard()
            return None
        return self._entry(record)

    def _drop_unused_modules(self):
        used = set()
        for name in port.listdir(self.actors_dir):
            record = self._read_record(self.actors_dir + "/" + name)
            if record is not None:
                used.add(binascii.unhexlify(record["digest"]))
        self.region.keep_only(used)
