"""`edgehost board info`, `remove` and `logs` against a simulated board."""

from __future__ import annotations

import hashlib
import json
import os
import select
import signal
import subprocess
import sys
import time

from support.commands import COMMAND_TIMEOUT, EDGEHOST

from edgemodule.region import extent


def test_info_shows_the_board_and_its_actors(start_sim, board, signed):
    sim = start_sim()
    module, key = signed("echo", call_alias="echoer")
    assert board(sim, "install", module).code == 0
    shown = board(sim, "info")
    assert shown.code == 0, shown
    lines = shown.out.splitlines()
    assert lines[0] == f"Board        sim at {sim.where}"
    assert lines[1].startswith("Firmware     edgehost-board ")
    assert lines[2] == "Engine       wasm3"
    assert lines[3] == "Runtime      cpython %d.%d.%d" % sys.version_info[:3]
    assert lines[4] == "Profile      esp32-s3-devkitc-n8r8"
    # free memory and flash come from the profile's model, not from the PC running it:
    # 6 MiB of RAM for actors less the echo actor's share, 4 MiB of flash less its module (in
    # the whole 4 KiB sectors of the module region)
    free_mem = int(lines[5].removeprefix("Free memory  ").removesuffix(" bytes").replace(",", ""))
    assert 6 * 2**20 - 256 * 1024 < free_mem < 6 * 2**20 - 128 * 1024
    size = len(module.read_bytes())
    assert lines[6] == f"Free flash   {4 * 2**20 - extent(size):,} bytes"
    assert lines[7] == "Actor slots  7 of 8 free; up to 64 memory pages (4096 KiB) per actor"
    assert lines[8].startswith("Uptime       ")
    assert lines[9] == "Actors       1"
    digest = hashlib.sha256(module.read_bytes()).hexdigest()
    # a table under a header, with the full key and digest, as the JSON has them
    assert lines[10].split() == ["KEY", "ALIAS", "NAME", "ENGINE", "SHA256"]
    assert lines[11].split() == [key, "echoer", "echo", "wasm3", digest]
    assert lines[10].index("ALIAS") == lines[11].index("echoer")


def test_info_json_is_one_object(start_sim, board, signed):
    sim = start_sim()
    module, key = signed("echo")
    assert board(sim, "install", module).code == 0
    shown = board(sim, "info", "--json")
    assert shown.code == 0 and shown.out.count("\n") == 1, shown
    summary = json.loads(shown.out)
    assert (summary["board"], summary["engine"], summary["profile"]) == \
        ("sim", "wasm3", "esp32-s3-devkitc-n8r8")
    assert (summary["os"], summary["os_version"]) == ("cpython", "%d.%d.%d" % sys.version_info[:3])
    assert summary["firmware"].startswith("edgehost-board ")
    for field in ("free_mem", "free_flash", "uptime_ms", "max_frame", "window"):
        assert isinstance(summary[field], int), field
    assert [(a["key"], a["name"], a["alias"]) for a in summary["actors"]] == \
        [(key, "echo", "")]


def test_remove_by_call_alias_then_the_actor_is_unknown(start_sim, board, signed):
    sim = start_sim()
    module, key = signed("echo", call_alias="echoer")
    assert board(sim, "install", module).code == 0
    removed = board(sim, "remove", "echoer")
    assert removed.code == 0, removed
    assert removed.out == f"removed {key[:8]}… (echoer) from board sim\n"
    assert "Actors       none" in board(sim, "info").out

    again = board(sim, "remove", "echoer")
    assert (again.code, again.out) == (1, ""), again
    assert again.err.startswith("edgehost: board sim cannot remove echoer: ")
    assert again.err.endswith("(unknown_actor)\n") and again.err.count("\n") == 1


class Follower:
    """`edgehost board logs` running; its stdout lines are read with a deadline."""

    def __init__(self, argv: list[str]):
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        stdin=subprocess.DEVNULL)
        self._buffer = b""

    def line_with(self, text: str) -> str:
        deadline = time.monotonic() + COMMAND_TIMEOUT
        fd = self.process.stdout.fileno()
        while True:
            *lines, self._buffer = self._buffer.split(b"\n")
            for i, line in enumerate(lines):
                if text in line.decode():
                    self._buffer = b"\n".join(lines[i + 1:] + [self._buffer])
                    return line.decode()
            self._buffer = b"\n".join([*lines, self._buffer]) if lines else self._buffer
            left = deadline - time.monotonic()
            assert left > 0 and select.select([fd], [], [], left)[0], f"no line with {text!r}"
            data = os.read(fd, 4096)
            assert data, f"logs ended before a line with {text!r}"
            self._buffer += data

    def finish(self) -> tuple[int, str]:
        try:
            _, err = self.process.communicate(timeout=COMMAND_TIMEOUT)
        finally:
            self.process.kill()
            self.process.wait()
        return self.process.returncode, err.decode()


def test_logs_follows_the_board_until_ctrl_c(start_sim, board, signed, key_file):
    module, key = signed("echo")
    first = start_sim()
    assert board(first, "install", module).code == 0
    first.stop()
    sim = start_sim()  # it restores the actor from flash and tells the next session so
    follower = Follower([EDGEHOST, "board", *sim.board_args, "--key-file", str(key_file),
                         "logs"])
    try:
        event = follower.line_with("event actors_restored")
        assert json.loads(event.removeprefix("event actors_restored ")) == {"actors": [key]}
        assert follower.line_with("open with gateway").startswith("INFO  session ")
        follower.process.send_signal(signal.SIGINT)
    finally:
        code, err = follower.finish()
    assert code == 130  # as the README has it for Ctrl-C
    assert err == f"edgehost: following the logs of board sim at {sim.where}; Ctrl-C stops\n"


def test_logs_ends_with_an_error_when_the_board_goes_away(start_sim, key_file):
    sim = start_sim()
    follower = Follower([EDGEHOST, "board", *sim.board_args, "--key-file", str(key_file),
                         "logs"])
    try:
        follower.line_with("open with gateway")
        sim.stop()
    finally:
        code, err = follower.finish()
    assert code == 1
    assert err.endswith(f"edgehost: board at {sim.where}: the connection closed\n")
