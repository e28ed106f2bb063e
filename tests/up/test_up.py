"""`edgehost up` as a user runs it: comes up, its printed commands work, Ctrl-C cleans up."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import socket
import subprocess
from pathlib import Path

import nats
import pytest
from support.up import EDGEHOST, UpProcess, free_port

from edgecli import actorbuild
from edgegate.wascap import ActorMetadata, KeyPair, sign_module

pytestmark = pytest.mark.nats



def nobody_listens(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
    except ConnectionRefusedError:
        return True
    return False


def signed_echo() -> bytes:
    module = actorbuild.build_actor(actorbuild.SOURCES / "echo.c").read_bytes()
    return sign_module(module, KeyPair.generate("account"), KeyPair.generate("module"),
                       ActorMetadata("echo"))


def processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if text in cmdline:
                found.append(int(entry.name))
    return found


def run_the_printed_call_and_board_info(lines: list[str], env: dict[str, str]) -> dict:
    """Run the `call` that up printed (the demo actor answers), then its `board … info`;
    returns what that says, as JSON."""
    argv = shlex.split(next(line.strip() for line in lines if " call " in line))
    assert Path(argv[0]).name == "edgehost"
    done = subprocess.run([EDGEHOST, *argv[1:]], env=env, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"(Hello|Hi|Greetings|Howdy|Good day), world!\n?", done.stdout)
    info = next(line.strip() for line in lines if " board --nats " in line)
    done = subprocess.run([EDGEHOST, *shlex.split(info)[1:], "--json"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_up_comes_up_and_its_printed_call_works_then_ctrl_c_leaves_nothing(up_env, tmp_path):
    port = free_port()
    up = UpProcess(up_env, "--nats-port", str(port))
    try:
        lines = up.summary()
        assert lines[0].startswith(f"lattice 'default' on nats://127.0.0.1:{port} (embedded")
        board = next(line for line in lines if line.startswith("board sim (simulated, "))
        sim_port = int(re.search(r"127\.0\.0\.1:(\d+)", board).group(1))
        info = run_the_printed_call_and_board_info(lines, up_env)
        assert [a["name"] for a in info["actors"]] == ["greeter"]
        # its own local lattice takes actors from file:// references (WASMCLOUD_ALLOW_FILE_LOAD)
        module = tmp_path / "echo_s.wasm"
        module.write_bytes(signed_echo())
        done = subprocess.run([EDGEHOST, "ctl", "start", "actor", f"file://{module}", "--nats",
                               f"nats://127.0.0.1:{port}", "--timeout", "20"], env=up_env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr

        stopped: list[dict] = []

        async def watch_and_interrupt() -> int:
            nc = await nats.connect(f"nats://127.0.0.1:{port}")

            async def seen(msg):
                stopped.append(json.loads(msg.data))

            await nc.subscribe("wasmbus.evt.default", cb=seen)
            await nc.flush()
            code = await asyncio.to_thread(up.interrupt)
            await nc.close()
            return code

        code = asyncio.run(watch_and_interrupt())
        assert code == 130
        assert any(e["type"] == "com.wasmcloud.lattice.host_stopped" for e in stopped)
        assert nobody_listens(port) and nobody_listens(sim_port)
        assert processes_mentioning(str(tmp_path / "state")) == []
        assert (tmp_path / "state" / "nats" / "jetstream").is_dir()  # the data is kept
    finally:
        if up.process.poll() is None:
            up.process.kill()


def test_a_second_run_finds_the_demo_actor_on_flash_and_keeps_its_key(up_env):
    keys = []
    for _ in range(2):
        up = UpProcess(up_env, "--nats-port", str(free_port()))
        try:
            lines = up.summary()
            keys.append(re.search(r"demo actor greeter \((M\w{55})\)", "\n".join(lines))[1])
        finally:
            up.interrupt()
    assert keys[0] == keys[1]


def test_a_port_in_use_is_one_line_saying_what_to_do(up_env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([EDGEHOST, "up", "--nats-port", str(port)], env=up_env,
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        f"edgehost: port {port} is in use (another nats-server?): join it with --nats "
        f"nats://127.0.0.1:{port}, or start one of our own with --nats-port N and "
        f"--state-dir DIR (or EDGEHOST_STATE_DIR)")


def left_in_time_wait() -> int:
    """A port nothing listens on whose last connection lingers in TIME_WAIT, as after a
    nats-server that closed its clients' connections and stopped."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as nats-server listens
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()  # the server's side closes first: it keeps the TIME_WAIT
        client.recv(1)
        client.close()
    with socket.socket() as probe:  # a bind without SO_REUSEADDR is refused meanwhile
        with pytest.raises(OSError):
            probe.bind(("127.0.0.1", port))
    return port


def test_up_starts_on_a_port_whose_last_connections_linger_in_time_wait(up_env):
    port = left_in_time_wait()
    up = UpProcess(up_env, "--nats-port", str(port))
    try:
        assert up.summary()[0].startswith(f"lattice 'default' on nats://127.0.0.1:{port} ")
    finally:
        up.interrupt()


def test_a_second_up_on_the_same_state_folder_is_one_line_and_state_dir_separates_them(
        up_env, tmp_path):
    first = UpProcess(up_env, "--nats-port", str(free_port()))
    try:
        first.summary()
        done = subprocess.run([EDGEHOST, "up", "--no-status", "--nats-port", str(free_port())],
                              env=up_env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1
        assert done.stderr.splitlines()[-1] == (
            f"edgehost: the state folder {tmp_path / 'state'} is in use by another edgehost up "
            f"(pid {first.process.pid}): stop that one, or give this one its own with "
            f"--state-dir DIR (or EDGEHOST_STATE_DIR)")
        second = UpProcess(up_env, "--nats-port", str(free_port()), "--state-dir",
                           str(tmp_path / "second"))
        try:
            assert any(line.startswith("board sim (simulated, ") for line in second.summary())
            assert (tmp_path / "second" / "board.key").is_file()
        finally:
            second.interrupt()
    finally:
        first.interrupt()


def test_up_help_names_the_state_folder_option_and_its_variable():
    shown = subprocess.run([EDGEHOST, "up", "--help"], capture_output=True, text=True,
                           timeout=60).stdout
    assert "--state-dir DIR" in shown and "EDGEHOST_STATE_DIR" in shown


def test_a_real_board_that_does_not_answer_is_one_line(up_env, tmp_path):
    key = tmp_path / "board.key"
    key.write_text(json.dumps({"board_id": "desk", "pairing_key": "ab" * 32}))
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    try:
        done = subprocess.run([EDGEHOST, "up", "--nats-port", str(free_port()), "--tcp",
                               f"127.0.0.1:{silent.getsockname()[1]}", "--key-file", str(key)],
                              env=up_env, capture_output=True, text=True, timeout=90)
    finally:
        silent.close()
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1].startswith("edgehost: no answer from board desk at ")


@pytest.mark.micropython
def test_up_on_a_circuitpython_board_serves_its_signed_demo_actor(up_env):
    from edgecli import cpbuild

    cpbuild.ensure_built()  # before up's wait for its board begins
    up = UpProcess(up_env, "--nats-port", str(free_port()), "--board-runtime", "circuitpython")
    try:
        summary = run_the_printed_call_and_board_info(up.summary(), up_env)
        assert (summary["os"], summary["os_version"], summary["engine"]) == \
            ("circuitpython", cpbuild.VERSION, "wasm3")
    finally:
        assert up.interrupt() == 130


def test_a_board_runtime_beside_a_real_board_is_one_line(up_env, tmp_path):
    done = subprocess.run([EDGEHOST, "up", "--nats-port", str(free_port()), "--tcp",
                           "127.0.0.1:9", "--key-file", str(tmp_path / "k"), "--board-runtime",
                           "micropython"], env=up_env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        "edgehost: --board-runtime micropython is for the simulated board; a real board "
        "(--port, --tcp, --boards) runs the firmware it was flashed with")
