"""Installed actors on the board's flash, written so that a power cut never leaves one to run.

Layout under the store's root:
    incoming/<n>.part       a module on its way in, written chunk by chunk as the link takes
                            it (emptied at boot: a cut-off upload leaves nothing behind)
    modules/<sha256>.wasm   module bytes, named by their digest (written once, never changed)
    actors/<key>.json       the actor's record (digest, size, claims token, call alias, ...) as
                            one line of JSON, then a line with that line's SHA-256; this file
                            is the commit point

Every file is written under a `.tmp` name first and renamed into place. At boot, `restore()`
keeps only actors whose record checks out and whose module has the recorded size and digest;
anything cut off is removed and reported, never run.
"""

import binascii
import json
import os

from edgehost import port
from edgelink import hmac256

CHUNK = 1024


def _hex(digest):
    return str(binascii.hexlify(digest), "ascii")


def _sha256_hex(data):
    return _hex(hmac256.sha256(data).digest())


class StoreError(Exception):
    """An actor could not be written to flash; the message says which and why."""


class StagedModule:
    """A module being written to flash as it arrives; the store commits it by a rename."""

    def __init__(self, path, size):
        self.path = path
        self.size = size
        self._file = open(path, "wb")

    def write(self, data):
        self._file.write(data)

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None

    def read(self):
        """The module's bytes (the engine needs them in RAM to run the module)."""
        with open(self.path, "rb") as f:
            return f.read()

    def discard(self):
        self.close()
        port.remove(self.path)


class ActorStore:
    def __init__(self, root):
        self.root = root
        self.modules_dir = root + "/modules"
        self.actors_dir = root + "/actors"
        self.incoming_dir = root + "/incoming"
        port.makedirs(self.modules_dir)
        port.makedirs(self.actors_dir)
        port.makedirs(self.incoming_dir)
        for name in port.listdir(self.incoming_dir):
            port.remove(self.incoming_dir + "/" + name)
        self._buf = bytearray(CHUNK)
        self._staged = 0

    def module_path(self, digest_hex):
        return "%s/%s.wasm" % (self.modules_dir, digest_hex)

    def record_path(self, key):
        return "%s/%s.json" % (self.actors_dir, key)

    def used_bytes(self):
        """Flash taken by modules, those on their way in included."""
        total = 0
        for folder in (self.modules_dir, self.incoming_dir):
            for name in port.listdir(folder):
                total += port.file_size(folder + "/" + name)
        return total

    def stage(self, size):
        """A new StagedModule of `size` bytes; StoreError when flash cannot take it."""
        self._staged += 1
        path = "%s/%d.part" % (self.incoming_dir, self._staged)
        try:
            return StagedModule(path, size)
        except OSError as exc:
            raise StoreError("cannot start writing a module of %d bytes to flash: %s"
                             % (size, exc))

    def save(self, key, module, record):
        """Store `module` (bytes) for actor `key` with `record` (a JSON-able dict)."""
        staged = self.stage(len(module))
        try:
            view = memoryview(module)
            for start in range(0, len(module), CHUNK):
                staged.write(view[start:start + CHUNK])
            staged.close()
        except OSError as exc:
            staged.discard()
            raise StoreError("cannot write module of actor %s to flash: %s" % (key, exc))
        return self.commit(key, staged, _sha256_hex(module), record)

    def commit(self, key, staged, digest, record):
        """Make a staged module (checked: its SHA-256 is `digest`, lower-case hex) actor
        `key`'s, with `record` (a JSON-able dict); a power cut leaves the old state.

        Returns the record as stored, with `digest` and `size` added.
        """
        staged.close()
        path = self.module_path(digest)
        if self._module_ok(path, staged.size, digest):
            staged.discard()  # the same module serves another actor already
        else:
            try:
                port.remove(path)
                os.rename(staged.path, path)
            except OSError as exc:
                staged.discard()
                raise StoreError("cannot write module of actor %s to flash: %s" % (key, exc))
        stored = dict(record)
        stored["key"] = key
        stored["digest"] = digest
        stored["size"] = staged.size
        self._write_record(key, stored)
        port.sync()
        self._drop_unused_modules()
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

    def load_module(self, record):
        """The module bytes of a restored record: read in place where the port can map the
        file (no copy in RAM; a module file is never changed once written), else read."""
        path = self.module_path(record["digest"])
        if port.map_file is not None:
            return port.map_file(path)
        with open(path, "rb") as f:
            return f.read()

    def _module_ok(self, path, size, digest_hex):
        h = hmac256.sha256()
        total = 0
        view = memoryview(self._buf)
        try:
            with open(path, "rb") as f:
                while True:
                    n = f.readinto(self._buf)
                    if not n:
                        break
                    h.update(view[:n])
                    total += n
        except OSError:
            return False
        return total == size and _hex(h.digest()) == digest_hex

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
            module = self.module_path(record["digest"])
            if not self._module_ok(module, record["size"], record["digest"]):
                dropped.append((record["key"], "module cut off or corrupt"))
                port.remove(path)
                continue
            kept.append(record)
        self._drop_unused_modules()
        return kept, dropped

    def _drop_unused_modules(self):
        used = set()
        for name in port.listdir(self.actors_dir):
            record = self._read_record(self.actors_dir + "/" + name)
            if record is not None:
                used.add(record["digest"] + ".wasm")
        for name in port.listdir(self.modules_dir):
            if name not in used:
                port.remove(self.modules_dir + "/" + name)
