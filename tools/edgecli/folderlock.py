"""A folder that one process at a time may use: a lock file there holds the user's pid."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO


class FolderInUse(Exception):
    """Another process holds the folder; `holder` is its pid as it wrote it ("?" if none)."""

    def __init__(self, holder: str):
        super().__init__(holder)
        self.holder = holder


def lock_folder(path: Path, name: str) -> IO[str]:
    """Make `path` and lock it through its file `name`; the lock lasts while the returned file
    stays open (and ends with the process, however it ends). Raises FolderInUse, or OSError
    when the folder cannot be made or written."""
    path.mkdir(parents=True, exist_ok=True)
    lock = open(path / name, "a+")  # noqa: SIM115 (held while the folder is in use)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.seek(0)
        holder = lock.read().strip() or "?"
        lock.close()
        raise FolderInUse(holder) from None
    lock.seek(0)
    lock.truncate()
    lock.write(str(os.getpid()))
    lock.flush()
    return lock
