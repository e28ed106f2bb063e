"""`edgehost sim --micropython` / `--circuitpython`: the simulated board's firmware run by the
board's MicroPython or CircuitPython.

firmware/main.py runs under MicroPython's unix port with the wasm3 module (edgecli.mpbuild,
built 32-bit as an ESP32 is: the heap then holds what the board's would),
or under CircuitPython's with its board stand-ins of tools/cpboard/ (edgecli.cpbuild), in the
simulator's flash folder, listening on a loopback TCP port of its own. The simulator
keeps its line (a pseudo-terminal or a TCP port, throttled with --baud) and relays the bytes
between that line and the board: the gateway sees the same line as with the CPython board,
and behind it the board's own code on the board's interpreter and engine.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import threading
import time
from typing import Any

from edgecli import cpbuild, mpbuild, packagedata
from edgecli.simulator import SimError, Simulator
from edgegate import lifeline

# each runtime: its build, and what goes on its path before firmware/ and shared/
RUNTIMES = {"micropython": (mpbuild.board_build, ()),
            "circuitpython": (cpbuild.ensure_built, (cpbuild.STAND_INS,))}
# The heap holds the host, the install's buffers and wasm3's structures; actors' linear memory
# is apart from it, held to the profile's RAM for actors by the wasm3 module (on a board both
# share PSRAM). Filling the default profile with 17-page actors in random orders of install,
# swap and remove left at least 2.5 MB of 4 MB free after every step (tools/bench/fill_heap.py;
# docs/PERFORMANCE.md). Many code-heavy actors of a page or two would need more.
HEAP = "4M"
START = "import main\nmain.main(recheck_ms=100)\n"
CONNECT_WAIT_S = 10.0


def _free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def board_config(sim: Simulator, port: int, native_key: bytes | None = None) -> dict[str, Any]:
    """The simulator's config as the board's config.json, listening on `port`; with a
    native-code key (`native_key`, or the config's own) the board takes native code."""
    config = sim.config
    data = {"board_id": config.board_id, "pairing_key": config.pairing_key.hex(),
            "profile": config.profile, "health_period_s": config.health_period_s,
            "host_call_timeout_ms": config.host_call_timeout_ms, "limits": config.limits,
            "transport": {"kind": "tcp-listen", "host": "127.0.0.1", "port": port}}
    native_key = native_key or config.native_key
    if native_key is not None:
        data["native_key"] = native_key.hex()
    return data


class MicroPythonBoard:
    """Stands in for the simulator's Board (run, stop): the firmware in a MicroPython or
    CircuitPython process (`runtime`), its console lines shown as the simulator shows a
    board's."""

    def __init__(self, sim: Simulator, runtime: str = "micropython",
                 native_key: bytes | None = None):
        build, path_first = RUNTIMES[runtime]
        try:
            binary = build()
        except mpbuild.MicroPythonBuildError as exc:
            raise SimError(str(exc)) from None
        self._runtime = runtime
        self._sim = sim
        self._port = _free_loopback_port()
        folder = sim.flash_dir
        (folder / "config.json").write_text(json.dumps(board_config(sim, self._port, native_key)))
        # the board reads its profile beside its config, as deploying puts it there
        shutil.copytree(packagedata.profiles_dir(), folder / "profiles", dirs_exist_ok=True)
        (folder / "start.py").write_text(START)
        path = [*path_first, packagedata.firmware_dir(), packagedata.shared_dir()]
        env = dict(os.environ, MICROPYPATH=":".join(map(str, path)))
        self._proc = subprocess.Popen([str(binary), "-X", "heapsize=" + HEAP, "start.py"],
                                      cwd=folder, env=env, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, preexec_fn=lifeline.ends_with_this_process())
        self._running = True
        threading.Thread(target=self._show_console, daemon=True).start()

    def _show_console(self) -> None:
        for line in self._proc.stdout:
            self._sim._console(line.rstrip("\n"))

    def _alive(self) -> bool:
        return self._running and self._proc.poll() is None

    def _connect_board(self) -> socket.socket | None:
        deadline = time.monotonic() + CONNECT_WAIT_S
        while self._alive() and time.monotonic() < deadline:
            try:
                sock = socket.create_connection(("127.0.0.1", self._port), timeout=1)
            except OSError:
                time.sleep(0.05)
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            return sock
        return None

    def run(self) -> None:
        try:
            while self._alive():
                line = self._sim._connect()
                if line is None:
                    continue
                board = self._connect_board()
                if board is None:
                    break
                with board:
                    self._relay(line, board)
        finally:
            self.stop()
            if self._proc.poll() is not None and self._proc.returncode not in (0, -15):
                self._sim._console("%s exited with status %d"
                                   % (self._runtime, self._proc.returncode))

    def _relay(self, line: Any, board: socket.socket) -> None:
        """Bytes both ways until either side closes (or the simulator stops)."""
        buf = bytearray(4096)
        while self._alive():
            try:
                n = line.readinto(buf)
            except OSError:
                return  # the gateway went away: the board sees its connection close
            if n:
                board.setblocking(True)
                board.sendall(memoryview(buf)[:n])
                board.setblocking(False)
            if select.select([board], [], [], 0 if n else 0.001)[0]:
                try:
                    data = board.recv(4096)
                except BlockingIOError:
                    continue
                if not data:
                    return
                try:
                    line.write(data)
                except OSError:
                    return

    def stop(self) -> None:
        self._running = False
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
