"""The simulated board: the firmware's Board behind a pseudo-terminal or a TCP port, on CPython.

The first line the simulator prints on stdout says where it serves (its form and its reader are
in `edgegate.devices.simprocess`); everything else the board says goes to stderr, one line each.

The board's side of the extra fields (see edgehost.board): `install` and `swap` may leave out
`claims` when the module is signed; the board then checks the module against its own claims
section. A claims token can be over 1 KB, more than an install message may hold in one frame
of a board with the default max_frame of 1024.
"""

from __future__ import annotations

import errno
import os
import select
import shutil
import socket
import sys
import tempfile
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgecli.engineprocess import ProcessEngine
from edgecli.folderlock import FolderInUse, lock_folder
from edgecli.profiles import DEFAULT_PROFILE, PROFILES_DIR, ProfileError, profile
from edgegate.devices.boardkey import BoardKey
from edgegate.devices.session import BoardError
from edgegate.devices.simprocess import READY_PREFIX, SimError
from edgegate.devices.transports import parse_tcp_address
from edgehost.board import Board
from edgehost.config import BoardConfig, ConfigError, load_config
from edgelink import pairing
from edgelink.boardio import SocketPort

DEFAULT_BOARD_ID = "sim"
ACCEPT_POLL_S = 0.2


def sim_config(board_id: str, pairing_key: bytes, transport: dict[str, Any],
               health_period_s: int = 30, profile: str = DEFAULT_PROFILE,
               **extra: Any) -> BoardConfig:
    """A board config for the simulator: the profile's limits unless `limits` lowers them."""
    data = {"board_id": board_id, "pairing_key": pairing_key.hex(), "profile": profile,
            "health_period_s": health_period_s, "transport": transport}
    data.update(extra)
    return BoardConfig(data, "simulator config", str(PROFILES_DIR))


class ThrottledPort:
    """Wraps a port so that bytes move no faster than a UART at `baud` either way
    (10 bits a byte: start, 8 data, stop): what the board writes leaves at that pace, and
    what the gateway sends reaches the board at it."""

    def __init__(self, inner: Any, baud: int, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self._inner = inner
        self.buffer = inner.buffer
        self._seconds_per_byte = 10.0 / baud
        self._clock = clock
        self._sleep = sleep
        self._free_at = clock()
        self._arrives_at = clock()

    def readinto(self, buf: bytearray) -> int:
        now = self._clock()
        if self._arrives_at > now:
            return 0  # the last bytes read are still on the wire
        # at most what the line carries in a millisecond or so, at least one byte
        room = max(1, min(len(buf), int(0.002 / self._seconds_per_byte)))
        n = self._inner.readinto(memoryview(buf)[:room])
        if n:
            self._arrives_at = max(self._arrives_at, now) + n * self._seconds_per_byte
        return n

    def write(self, data: Any) -> None:
        view = memoryview(data)
        piece = 64
        for start in range(0, len(view), piece):
            chunk = view[start:start + piece]
            now = self._clock()
            if self._free_at > now:
                self._sleep(self._free_at - now)
            self._inner.write(chunk)
            self._free_at = max(self._free_at, now) + len(chunk) * self._seconds_per_byte

    def close(self) -> None:
        closer = getattr(self._inner, "close", None)
        if closer is not None:
            closer()


class PtyPort:
    """The master end of a pseudo-terminal as a board port.

    While no one has the terminal open the line is unplugged: what the board writes is lost
    (as on a UART with no cable) rather than piling up for the next gateway to read.
    """

    def __init__(self, fd: int, buffer_size: int = 4096):
        self._fd = fd
        self.buffer = bytearray(buffer_size)
        os.set_blocking(fd, False)
        self._poll = select.poll()
        self._poll.register(fd, select.POLLOUT)

    def _unplugged(self) -> bool:
        return any(events & select.POLLHUP for _, events in self._poll.poll(0))

    def readinto(self, buf: bytearray) -> int:
        try:
            return os.readv(self._fd, [buf])
        except BlockingIOError:
            return 0
        except OSError as exc:
            if exc.errno == errno.EIO:  # nobody has the terminal open
                return 0
            raise

    def write(self, data: Any) -> None:
        view = memoryview(data)
        sent = 0
        while sent < len(view):
            if self._unplugged():
                return
            try:
                sent += os.write(self._fd, view[sent:])
            except BlockingIOError:
                time.sleep(0.001)


class PtyLine:
    """A pseudo-terminal in raw mode; the gateway opens `path` like a USB serial port, and
    may close and reopen it: the board then gets asked for a new session."""

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        os.close(slave)
        self._port: PtyPort | None = None

    def connect(self) -> PtyPort:
        # a pty does not break: a board that gave its link up opens a new session on it
        if self._port is None:
            self._port = PtyPort(self.master)
        return self._port

    def close(self) -> None:
        try:
            os.close(self.master)
        except OSError:
            pass

    @property
    def where(self) -> str:
        return self.path


class TcpLine:
    """A listening TCP socket; each gateway connection is one link (as a board on Wi-Fi)."""

    def __init__(self, host: str, port: int):
        self._server = socket.create_server((host, port))
        self._server.settimeout(ACCEPT_POLL_S)
        self.host, self.port = self._server.getsockname()[:2]

    def connect(self) -> SocketPort | None:
        try:
            conn, _ = self._server.accept()
        except TimeoutError:
            return None  # the board checks whether it should stop, and asks again
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return SocketPort(conn, buffer_size=4096)

    def waiting(self) -> bool:
        """True when another connection waits to be accepted."""
        return bool(select.select([self._server], [], [], 0)[0])

    def close(self) -> None:
        self._server.close()

    @property
    def where(self) -> str:
        return f"tcp://{self.host}:{self.port}"


class FlashDir:
    """The simulated flash: a folder, locked while one simulator uses it (two boards on one
    flash would drift apart), or a temporary one removed when the simulator ends."""

    LOCK = ".edgehost-sim.lock"

    def __init__(self, path: Path, temporary: bool, lock: Any):
        self.path = path
        self.temporary = temporary
        self._lock = lock

    @classmethod
    def open(cls, path: Path | None) -> FlashDir:
        if path is None:
            return cls(Path(tempfile.mkdtemp(prefix="edgehost-sim-flash-")), True, None)
        if path.exists() and not path.is_dir():
            raise SimError(f"--flash-dir {path}: is a file, not a folder")
        try:
            lock = lock_folder(path, cls.LOCK)
        except FolderInUse as exc:
            raise SimError(f"--flash-dir {path}: another simulator (pid {exc.holder}) uses it; "
                           f"two boards cannot share one flash") from None
        except OSError as exc:
            raise SimError(f"--flash-dir {path}: cannot use it ({exc.strerror})") from None
        return cls(path, False, lock)

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None
        if self.temporary:
            shutil.rmtree(self.path, ignore_errors=True)


class Simulator:
    """One simulated board: a Board on a line, with its flash in a folder.

    Its actors run in child processes (edgecli.engineprocess), so that a runaway call stops at
    the profile's deadline as on the board, and `stop()` ends the board promptly even while an
    actor runs.
    """

    def __init__(self, config: BoardConfig, flash: FlashDir | Path | None,
                 tcp: tuple[str, int] | None, baud: int | None = None,
                 console: Callable[[str], None] | None = None):
        self.config = config
        if not isinstance(flash, FlashDir):
            flash = FlashDir.open(flash)
        self.flash = flash
        self.flash_dir = flash.path
        try:
            self.line: PtyLine | TcpLine = TcpLine(tcp[0], tcp[1]) if tcp else PtyLine()
        except OSError:
            flash.release()
            raise
        self._baud = baud
        self._console = console or _stderr_line(config.board_id)
        self.engine = ProcessEngine()
        self.board = Board(config, str(flash.path), self._connect, console=self._console,
                           waiting=getattr(self.line, "waiting", None),
                           engine_module=self.engine)

    def _connect(self) -> Any:
        link_port = self.line.connect()
        if link_port is not None and self._baud:
            return ThrottledPort(link_port, self._baud)
        return link_port

    @property
    def ready_line(self) -> str:
        return f"{READY_PREFIX}{self.config.board_id} on {self.line.where}"

    def run(self) -> None:
        try:
            self.board.run()
        finally:
            self.close()

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="edgehost-sim", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.board.stop()
        self.engine.stop()

    def close(self) -> None:
        self.engine.close()
        self.line.close()
        self.flash.release()


show_debug = False  # `edgehost sim -v`: the board's debug lines (link drops) on stderr too


def _stderr_line(board_id: str) -> Callable[[str], None]:
    def show(line: str) -> None:
        if line.startswith("[debug] ") and not show_debug:
            return
        sys.stderr.write(f"[{board_id}] {line}\n")
        sys.stderr.flush()
    return show


class SimOptions:
    """What `edgehost sim` was asked for (see edgecli.main for the options)."""

    def __init__(self, config: str | None = None, key_file: str | None = None,
                 tcp: str | None = None, pty: bool = False, flash_dir: str | None = None,
                 baud: int | None = None, profile: str | None = None,
                 board_id: str | None = None, native_code: bool = False):
        self.config = config
        self.key_file = key_file
        self.tcp = tcp
        self.pty = pty
        self.flash_dir = flash_dir
        self.baud = baud
        self.profile = profile
        self.board_id = board_id
        self.native_code = native_code  # the board takes native code (--native-code)


def _key_for(path: Path, board_id: str | None) -> BoardKey:
    if path.exists():
        try:
            board_key = BoardKey.load(path)
        except BoardError as exc:
            raise SimError(str(exc)) from None
        if board_id is not None and board_id != board_key.board_id:
            raise SimError(f"--board-id {board_id}: key file {path} is for board "
                           f"{board_key.board_id}; use another key file for another board")
        return board_key
    try:
        board_key = BoardKey.create(path, board_id or DEFAULT_BOARD_ID)
    except OSError as exc:
        raise SimError(f"key file {path}: cannot make it ({exc.strerror})") from None
    sys.stderr.write(f"edgehost sim: made key file {path} for board "
                     f"{board_key.board_id} (keep it: the gateway needs the same key)\n")
    return board_key


def native_key(options: SimOptions) -> bytes | None:
    """The native-code key of `--native-code`: the key file's, added to it when it has none
    (the gateway reads it there); None without the option."""
    if not options.native_code:
        return None
    if not options.key_file:
        raise SimError("--native-code: give --key-file FILE (the gateway reads the native-code "
                       "key there); with --config, put native_key in the config instead")
    path = Path(options.key_file)
    board_key = _key_for(path, options.board_id)
    if board_key.native_key is None:
        try:
            board_key.with_native_key(path)
        except OSError as exc:
            raise SimError(f"key file {path}: cannot add a native-code key ({exc.strerror})"
                           ) from None
        sys.stderr.write(f"edgehost sim: added a native-code key to key file {path}: the "
                         f"gateway translates this board's actors to native code\n")
    return board_key.native_key


def _check_before_making_anything(options: SimOptions) -> None:
    """Bad input is refused before a key file or a flash folder is made for it."""
    if options.flash_dir and Path(options.flash_dir).is_file():
        raise SimError(f"--flash-dir {options.flash_dir}: is a file, not a folder")
    try:
        profile(options.profile or DEFAULT_PROFILE)
    except ProfileError as exc:
        raise SimError(f"--profile: {exc}") from None
    if options.board_id is not None:
        try:
            pairing.board_id_bytes(options.board_id)
        except pairing.PairingError as exc:
            raise SimError(f"--board-id: {exc}") from None


def build(options: SimOptions) -> Simulator:
    """The simulator the command line asks for; raises SimError on bad input."""
    if options.baud is not None and options.baud <= 0:
        raise SimError(f"--baud {options.baud}: must be a positive number of bits per second")
    try:
        hostport = parse_tcp_address(options.tcp, listening=True) if options.tcp else None
    except ValueError as exc:
        raise SimError(str(exc)) from None
    if options.config:
        for flag, value in (("--profile", options.profile), ("--board-id", options.board_id)):
            if value is not None:
                raise SimError(f"{flag}: the config file {options.config} says it; give "
                               f"{flag} or --config, not both")
        try:
            config = load_config(options.config, str(PROFILES_DIR))
        except ConfigError as exc:
            raise SimError(str(exc)) from None
        transport = config.transport
        if hostport is None and not options.pty and transport.get("kind") == "tcp-listen":
            hostport = (transport.get("host", "127.0.0.1"), transport["port"])
    elif options.key_file:
        _check_before_making_anything(options)
        board_key = _key_for(Path(options.key_file), options.board_id)
        # the line is the simulator's (pty or --tcp), whatever the config says
        config = sim_config(board_key.board_id, board_key.pairing_key, {"kind": "usb"},
                            profile=options.profile or DEFAULT_PROFILE)
    else:
        raise SimError("edgehost sim needs --key-file FILE or --config FILE "
                       "(the board's id and pairing key)")
    flash = FlashDir.open(Path(options.flash_dir) if options.flash_dir else None)
    try:
        return Simulator(config, flash, hostport, options.baud)
    except OSError as exc:
        flash.release()
        where = f"tcp://{hostport[0]}:{hostport[1]}" if hostport else "a pseudo-terminal"
        raise SimError(f"cannot serve on {where}: {exc.strerror or exc}") from None
