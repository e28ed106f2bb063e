"""`edgehost sim` as a process: pty and TCP, its key file, its flash kept across restarts."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import subprocess
from pathlib import Path

from support.gateway import WAIT, connect_pty, connect_tcp, tcp_gateway
from support.keys import BOARD_ID, PAIRING_KEY, write_key_file
from support.sims import sim_command

from edgecli.simulator import ThrottledPort
from edgegate.devices.simprocess import parse_ready_line
from edgehost.store import ActorStore
from edgemodule.region import extent

ROOT = Path(__file__).resolve().parents[2]


async def test_the_sim_serves_on_a_pseudo_terminal_that_pyserial_opens(sim_process, sign,
                                                                      tmp_path):
    keys = write_key_file(tmp_path / "board.key")
    sim = sim_process("--key-file", str(keys), "--baud", "921600")
    assert sim.where.startswith("/dev/")
    gw = await connect_pty(sim.where)
    try:
        assert gw.hello["board"] == BOARD_ID
        echo = sign("echo")
        assert (await gw.request(echo.install(), echo.module))["t"] == "installed"
        assert (await gw.invoke(echo.key, "Echo", b"over a pty"))["body"] == b"over a pty"
    finally:
        await gw.close()


async def test_a_missing_key_file_is_made_with_a_fresh_key_for_board_sim(sim_process,
                                                                         tmp_path):
    path = tmp_path / "new.key"
    sim = sim_process("--tcp", "127.0.0.1:0", "--key-file", str(path))
    saved = json.loads(path.read_text())
    assert saved["board_id"] == "sim" and len(bytes.fromhex(saved["pairing_key"])) == 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    async with tcp_gateway(sim.where, "sim", bytes.fromhex(saved["pairing_key"])) as gw:
        assert gw.hello["board"] == "sim"
        assert f"made key file {path}" in "".join(sim.stderr_lines)


async def test_a_restarted_sim_keeps_its_actors_and_says_so_in_its_hello(sim_process, sign,
                                                                         tmp_path):
    keys = write_key_file(tmp_path / "board.key")
    flash = tmp_path / "flash"
    args = ("--tcp", "127.0.0.1:0", "--key-file", str(keys), "--flash-dir", str(flash))
    echo = sign("echo", call_alias="echoer")
    first = sim_process(*args)
    gw = await connect_tcp(first.where)
    await gw.request(echo.install(), echo.module)
    await gw.close()
    first.stop()

    second = sim_process(*args)
    async with tcp_gateway(second.where) as gw:
        assert gw.hello["actors"] == {echo.key: echo.sha256}  # nothing to upload again
        assert gw.hello["actor_info"][echo.key]["alias"] == "echoer"
        event = await gw.receive("event")
        assert (event["kind"], event["data"]) == ("actors_restored", {"actors": [echo.key]})
        assert (await gw.invoke("echoer", "Echo", b"remembered"))["body"] == b"remembered"


async def test_a_module_cut_off_on_flash_is_dropped_at_boot_not_run(sim_process, sign,
                                                                    tmp_path):
    keys = write_key_file(tmp_path / "board.key")
    flash = tmp_path / "flash"
    args = ("--tcp", "127.0.0.1:0", "--key-file", str(keys), "--flash-dir", str(flash))
    echo = sign("echo")
    first = sim_process(*args)
    gw = await connect_tcp(first.where)
    await gw.request(echo.install(), echo.module)
    await gw.close()
    first.stop()
    store = ActorStore(str(flash))
    with open(store.region.flash.path, "r+b") as region:  # a power cut mid-write
        region.seek(store.region.entries[0][0] + 100)
        region.write(b"\xff" * 4000)

    second = sim_process(*args)
    async with tcp_gateway(second.where) as gw:
        assert gw.hello["actors"] == {}
        event = await gw.receive("event")
        assert event["kind"] == "actor_dropped"
        assert event["data"] == {"actor": echo.key, "reason": "module cut off or corrupt"}


async def test_several_sims_run_side_by_side(sim_process, tmp_path):
    sims = [sim_process("--tcp", "127.0.0.1:0",
                        "--key-file", str(write_key_file(tmp_path / f"{n}.key", f"board-{n}")))
            for n in range(3)]
    assert len({sim.where for sim in sims}) == 3
    for n, sim in enumerate(sims):
        async with tcp_gateway(sim.where, f"board-{n}") as gw:
            assert gw.hello["board"] == f"board-{n}"


def run_sim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(sim_command(*args), capture_output=True, text=True, timeout=WAIT)


def test_bad_sim_arguments_get_one_line_each(tmp_path):
    cases = {
        ("--tcp", "127.0.0.1:0"): "edgehost: edgehost sim needs --key-file FILE or --config "
                                  "FILE (the board's id and pairing key)",
        ("--tcp", "nowhere", "--key-file", str(tmp_path / "k")):
            "edgehost: --tcp 'nowhere': expected HOST:PORT with a port from 0 to 65535 "
            "(0 picks a free port)",
        ("--baud", "0", "--key-file", str(tmp_path / "k")):
            "edgehost: --baud 0: must be a positive number of bits per second",
        ("--config", str(tmp_path / "absent.json")):
            f"edgehost: {tmp_path / 'absent.json'}: not found; provision the board with a "
            "config file",
    }
    nowhere = tmp_path / "no-such-dir" / "board.key"
    cases[("--key-file", str(nowhere))] = (f"edgehost: key file {nowhere}: cannot make it "
                                           "(No such file or directory)")
    config = tmp_path / "config.json"
    config.write_text("{}")
    cases[("--config", str(config), "--profile", "esp32-devkitc")] = (
        f"edgehost: --profile: the config file {config} says it; give --profile or --config, "
        "not both")
    a_file = tmp_path / "flash.img"
    a_file.write_text("")
    cases[("--key-file", str(tmp_path / "k"), "--flash-dir", str(a_file))] = (
        f"edgehost: --flash-dir {a_file}: is a file, not a folder")
    cases[("--key-file", str(tmp_path / "k"), "--profile", "esp32-s4")] = (
        "edgehost: --profile: profile esp32-s4: not found in "
        f"{ROOT / 'hardware' / 'profiles'} (known: esp32-c3-devkitm-1, esp32-devkitc, "
        "esp32-s3-devkitc-n8r8, esp32-wrover-e)")
    cases[("--key-file", str(tmp_path / "k"), "--board-id", "x" * 65)] = (
        "edgehost: --board-id: board_id must be a string of 1 to 64 bytes")
    bad_key = tmp_path / "bad.key"
    bad_key.write_text('{"board_id": "x", "pairing_key": "abcd"}')
    cases[("--key-file", str(bad_key), "--board-id", "y")] = (
        f"edgehost: key file {bad_key}: pairing_key must be 64 hex digits (32 bytes)")
    cases[("--key-file", str(bad_key))] = (f"edgehost: key file {bad_key}: pairing_key must "
                                           "be 64 hex digits (32 bytes)")
    for args, message in cases.items():
        done = run_sim(*args)
        assert (done.returncode, done.stdout, done.stderr) == (1, "", message + "\n"), args


def test_a_failed_start_leaves_no_temporary_flash_folder(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        address = "127.0.0.1:%d" % taken.getsockname()[1]
        env = dict(os.environ, TMPDIR=str(tmp_path))
        done = subprocess.run(sim_command("--tcp", address, "--key-file",
                                          str(write_key_file(tmp_path / "board.key"))),
                              capture_output=True, text=True, timeout=WAIT, env=env)
    assert done.returncode == 1
    assert done.stderr.startswith(f"edgehost: cannot serve on tcp://{address}: ")
    assert [p.name for p in tmp_path.iterdir()] == ["board.key"]


async def test_two_sims_cannot_share_one_flash_folder(sim_process, tmp_path):
    keys = write_key_file(tmp_path / "board.key")
    flash = tmp_path / "flash"
    first = sim_process("--tcp", "127.0.0.1:0", "--key-file", str(keys), "--flash-dir", str(flash))
    done = run_sim("--tcp", "127.0.0.1:0", "--key-file", str(keys), "--flash-dir", str(flash))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (f"edgehost: --flash-dir {flash}: another simulator (pid "
                           f"{first.process.pid}) uses it; two boards cannot share one flash\n")
    first.stop()
    again = sim_process("--tcp", "127.0.0.1:0", "--key-file", str(keys), "--flash-dir",
                        str(flash))  # free again once the first has stopped
    assert again.where.startswith("tcp://")


async def test_the_sim_models_its_profile_and_names_its_board(sim_process, tmp_path, sign):
    keys = tmp_path / "kitchen.key"
    sim = sim_process("--tcp", "127.0.0.1:0", "--key-file", str(keys), "--board-id", "kitchen",
                      "--profile", "esp32-wrover-e")
    assert json.loads(keys.read_text())["board_id"] == "kitchen"
    key = bytes.fromhex(json.loads(keys.read_text())["pairing_key"])
    async with tcp_gateway(sim.where, "kitchen", key) as gw:
        assert "[kitchen] [info] profile esp32-wrover-e (ESP32-WROVER-E module (ESP32-DevKitC-" \
               "VE), 4 MiB flash): 3072 KiB of RAM for actors, 32 pages per actor, 4 actor " \
               "slots, 1768 KiB of flash for modules\n" in sim.stderr_lines
        assert (gw.hello["board"], gw.hello["profile"]) == ("kitchen", "esp32-wrover-e")
        # 3 MiB of RAM for actors and 1768 KiB of flash for modules, none used yet: the
        # model's figures, not the machine's
        assert (gw.hello["free_mem"], gw.hello["free_flash"]) == (3 * 2**20, 1768 * 1024)
        assert gw.hello["budget"]["pages"] == 32
        greeter = sign("rust_greeter")
        assert (await gw.request(greeter.install(), greeter.module))["t"] == "installed"
    async with tcp_gateway(sim.where, "kitchen", key) as gw:
        taken = 3 * 2**20 - gw.hello["free_mem"]
        assert 17 * 65536 + len(greeter.module) < taken < 17 * 65536 + 128 * 1024
        assert gw.hello["free_flash"] == 1768 * 1024 - extent(len(greeter.module))  # whole sectors


async def test_a_gateway_that_hangs_up_cleanly_is_logged_once_at_info(sim_process, tmp_path):
    keys = write_key_file(tmp_path / "board.key")
    sim = sim_process("--tcp", "127.0.0.1:0", "--key-file", str(keys))
    gw = await connect_tcp(sim.where)
    await gw.close()
    gw = await connect_tcp(sim.where)  # the board has taken the first hang-up by now
    await gw.close()
    for _ in range(int(WAIT / 0.05)):  # the board says so once it sees the hang-up
        if any("closed the connection" in line for line in sim.stderr_lines):
            break
        await asyncio.sleep(0.05)
    sim.stop()
    lines = [line.strip() for line in sim.stderr_lines if "closed the connection" in line]
    # the first hang-up was taken before the second connection was served; the second one
    # may still have been on its way when the board stopped
    assert lines[0] == (f"[{BOARD_ID}] [info] the gateway closed the connection; waiting for "
                        f"the next one")
    assert len(set(lines)) == 1 and len(lines) <= 2
    assert not any("link lost" in line or "[warn]" in line for line in sim.stderr_lines), \
        sim.stderr_lines


def test_the_ready_line_parses_to_the_address():
    assert parse_ready_line("edgehost sim: board sim on /dev/pts/4\n") == "/dev/pts/4"
    assert parse_ready_line("edgehost sim: board b on tcp://127.0.0.1:4000") == \
        "tcp://127.0.0.1:4000"
    assert parse_ready_line("something else") is None


async def test_a_pty_closed_and_opened_again_gets_a_new_session(sim_process, sign, tmp_path):
    keys = write_key_file(tmp_path / "board.key")
    sim = sim_process("--pty", "--key-file", str(keys))
    await asyncio.sleep(1.5)  # the board retries its OPEN into an unplugged line meanwhile
    echo = sign("echo")
    gw = await connect_pty(sim.where)
    await gw.request(echo.install(), echo.module)
    await gw.close()
    gw = await connect_pty(sim.where)
    try:
        assert gw.hello["actors"] == {echo.key: echo.sha256}
        assert (await gw.invoke(echo.key, "Echo", b"again"))["body"] == b"again"
        assert not any("gateway proof failed" in line for line in sim.stderr_lines)
    finally:
        await gw.close()


async def test_the_sim_takes_a_boards_config_file_and_its_tcp_address(sim_process, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "config.json"
    config.write_text(json.dumps({
        "board_id": "configured", "pairing_key": PAIRING_KEY.hex(),
        "profile": "esp32-s3-devkitc-n8r8",
        "transport": {"kind": "tcp-listen", "host": "127.0.0.1", "port": port}}))
    sim = sim_process("--config", str(config))
    assert sim.where == f"tcp://127.0.0.1:{port}"
    async with tcp_gateway(sim.where, "configured") as gw:
        assert (gw.hello["board"], gw.hello["profile"]) == ("configured", "esp32-s3-devkitc-n8r8")


class _Wire:
    buffer = bytearray(16)

    def __init__(self):
        self.sent = bytearray()

    def write(self, data):
        self.sent.extend(data)


class _Feed:
    buffer = bytearray(4096)

    def __init__(self, data: bytes):
        self.data = data

    def readinto(self, buf) -> int:
        n = min(len(buf), len(self.data))
        buf[:n] = self.data[:n]
        self.data = self.data[n:]
        return n


def test_baud_paces_what_reaches_the_board_too():
    clock = [100.0]
    feed = _Feed(bytes(2000))
    line = ThrottledPort(feed, 9600, clock=lambda: clock[0], sleep=lambda s: None)
    got = 0
    for _ in range(100000):
        n = line.readinto(line.buffer)
        got += n
        clock[0] += 0.0001  # the board's loop comes round every 0.1 ms
        if got == 2000:
            break
    # 2000 bytes of 10 bits at 9600 baud take 2.08 s to arrive, not less (a little more
    # as the loop's turns fall)
    assert got == 2000
    assert 2000 * 10 / 9600 <= clock[0] - 100.0 < 1.1 * 2000 * 10 / 9600


def test_baud_paces_what_the_board_writes_at_ten_bits_a_byte():
    clock = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    wire = _Wire()
    line = ThrottledPort(wire, 9600, clock=lambda: clock[0], sleep=sleep)
    line.write(bytes(960))
    line.write(bytes(64))
    assert bytes(wire.sent) == bytes(1024)
    # 1024 bytes of 10 bits at 9600 baud: the last piece leaves after all before it went out
    assert round(sum(slept), 6) == round((1024 - 64) * 10 / 9600, 6)
