"""Ctrl-C as a terminal sends it (SIGINT to the whole foreground group): `up` stops in order,
with the exit status the README gives and no traceback; a reader gone away is 141."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from support.commands import COMMAND_TIMEOUT
from support.up import EDGEHOST, UpProcess, descendants, free_port, still_running

pytestmark = pytest.mark.nats

DEV_PY = str(Path(__file__).resolve().parents[2] / "tools" / "dev.py")


def test_ctrl_c_of_dev_py_up_is_130_with_no_traceback_process_or_temporary_folder(
        up_env, tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    up = UpProcess({**up_env, "TMPDIR": str(temp)}, "--nats-port", str(free_port()),
                   command=(sys.executable, DEV_PY))
    try:
        up.summary()
        started = descendants(up.process.pid)
        code = up.interrupt()
        err = up.process.stderr.read()
    finally:
        if up.process.poll() is None:
            up.process.kill()
    assert (code, still_running(started)) == (130, [])
    assert "Traceback" not in err and err.splitlines()[-1] == "edgehost: stopping", err
    assert list(temp.iterdir()) == []


def test_a_call_whose_reader_has_gone_ends_with_141_and_says_nothing(up_env):
    up = UpProcess(up_env, "--nats-port", str(free_port()))
    try:
        call = shlex.split(next(line.strip() for line in up.summary() if " call " in line))
        reader, writer = os.pipe()
        os.close(reader)  # as `edgehost call … | true` once true has ended
        try:
            done = subprocess.run([EDGEHOST, *call[1:]], env=up_env, stdout=writer,
                                  stderr=subprocess.PIPE, text=True, timeout=60)
        finally:
            os.close(writer)
        assert (done.returncode, done.stderr) == (141, "")
    finally:
        up.interrupt()


def test_ctrl_c_of_up_on_an_existing_lattice_is_130(up_env, nats_server):
    up = UpProcess(up_env, "--nats", nats_server.url)
    try:
        up.summary()
    finally:
        code = up.interrupt()
    assert code == 130
    assert "Traceback" not in up.process.stderr.read()


def test_ctrl_c_while_up_waits_for_its_board_stops_it_there_with_130(up_env, tmp_path):
    key = tmp_path / "board.key"
    key.write_text(json.dumps({"board_id": "desk", "pairing_key": "ab" * 32}))
    with socket.socket() as silent:  # a board that takes the connection and never speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        up = UpProcess(up_env, "--nats-port", str(free_port()), "--tcp",
                       "127.0.0.1:%d" % silent.getsockname()[1], "--key-file", str(key))
        try:
            silent.settimeout(COMMAND_TIMEOUT)
            silent.accept()[0].close()  # the gateway has dialled: up now waits for the board
            started = descendants(up.process.pid)
            code = up.interrupt()
        finally:
            if up.process.poll() is None:
                up.process.kill()
    assert (code, still_running(started)) == (130, [])
    assert "Traceback" not in up.process.stderr.read()
