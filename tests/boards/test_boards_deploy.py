"""`edgehost deploy` and `edgehost provision` through mpremote against the MicroPython unix port
on a pseudo-terminal, then the board booting from what they wrote and greeting a gateway."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import socket
import stat

import pytest
from support.gateway import WAIT, connect_tcp
from support.signing import SignedActor

from edgecli import boardfiles, mpbuild, packagedata
from edgegate.devices.registry import load_registry

PROFILE = "esp32-s3-devkitc-n8r8"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def greet(port: int, board_id: str, key: bytes, proc):
    """The board's hello once its main.py listens; fails with the board's output if not."""
    for _ in range(int(WAIT / 0.05)):
        if proc.poll() is not None:
            break
        try:
            return await connect_tcp("tcp://127.0.0.1:%d" % port, board_id, key)
        except OSError:
            await asyncio.sleep(0.05)
    pytest.fail("the board never listened (exit %s)" % proc.poll(), pytrace=False)


def provision(edgehost, board, registry, port, *extra):
    return edgehost("provision", "--port", board.port, "--board-id", "kitchen", "--profile",
                    PROFILE, "--registry", registry, "--tcp-listen", "127.0.0.1:%d" % port,
                    *extra)


def test_deploy_copies_the_host_as_bytecode_for_the_boards_version(edgehost, unix_board):
    board = unix_board()
    done = edgehost("deploy", "--port", board.port)
    assert done.code == 0, done
    assert "as .mpy 6.3 (mpy-cross)" in done.out
    on_board = board.folder
    assert (on_board / "main.py").read_bytes() == boardfiles.MAIN.read_bytes()
    mpy = (on_board / "edgehost" / "board.mpy").read_bytes()
    assert mpy[:2] == b"M\x06"  # a .mpy header of version 6
    assert not (on_board / "edgehost" / "board.py").exists()
    names = set(boardfiles.host_sources())
    assert len(names) == int(done.out.split(": ")[1].split(" copied")[0]) - 4  # + 4 profiles
    assert sorted(p.name for p in (on_board / "profiles").iterdir()) == sorted(
        p.name for p in packagedata.profiles_dir().iterdir())


def test_a_second_deploy_copies_only_what_changed_and_removes_stale_sources(
        edgehost, unix_board):
    board = unix_board()
    assert edgehost("deploy", "--port", board.port).code == 0
    (board.folder / "edgehost" / "store.mpy").write_bytes(b"an older build")
    (board.folder / "edgehost" / "store.py").write_text("# would shadow store.mpy\n")
    again = edgehost("deploy", "--port", board.port, "--json")
    assert again.code == 0, again
    result = json.loads(again.out)
    assert result["copied"] == ["edgehost/store.mpy"]
    assert result["removed"] == ["edgehost/store.py"]
    assert len(result["unchanged"]) > 30
    assert not (board.folder / "edgehost" / "store.py").exists()


def test_deploy_as_source_copies_the_py_files(edgehost, unix_board):
    board = unix_board()
    done = edgehost("deploy", "--port", board.port, "--source")
    assert done.code == 0, done
    assert (board.folder / "edgelink" / "frame.py").read_bytes() == \
        (packagedata.shared_dir() / "edgelink" / "frame.py").read_bytes()


def test_deploy_to_firmware_with_the_host_frozen_in_copies_nothing(edgehost, unix_board):
    board = unix_board(frozen=True)
    done = edgehost("deploy", "--port", board.port)
    assert done.code == 0, done
    assert "the host code is frozen into the firmware" in done.out
    assert list(board.folder.iterdir()) == []


def test_deploy_where_no_repl_answers_says_so_in_one_line(edgehost, tmp_path):
    done = edgehost("deploy", "--port", "socket://127.0.0.1:%d" % free_port())
    assert done.code == 1
    assert done.err.startswith("edgehost: cannot open socket://127.0.0.1:")
    assert len(done.err.splitlines()) == 1, done.err


async def test_a_deployed_and_provisioned_board_boots_and_greets_with_its_registry_key(
        edgehost, unix_board, boot, tmp_path, actors):
    board = unix_board()
    assert edgehost("deploy", "--port", board.port).code == 0
    registry, port = tmp_path / "boards.json", free_port()
    done = provision(edgehost, board, registry, port)
    assert done.code == 0, done
    board.stop()
    config = json.loads((board.folder / "config.json").read_text())
    entry = load_registry(registry)[0]
    assert (entry.board_id, entry.how, entry.address) == ("kitchen", "tcp",
                                                          "127.0.0.1:%d" % port)
    assert entry.pairing_key.hex() == config["pairing_key"]
    assert config["pairing_key"] not in done.out + done.err  # never shown unless asked
    assert "pairing key: not shown" in done.out
    assert stat.S_IMODE(registry.stat().st_mode) == 0o600
    proc = boot(board.folder)
    gw = await greet(port, "kitchen", entry.pairing_key, proc)
    try:
        assert (gw.hello["board"], gw.hello["engine"]) == ("kitchen", "wasm3")
        echo = SignedActor(actors["echo"], "echo")
        assert (await gw.request(echo.install(), echo.module))["t"] == "installed"
        assert (await gw.invoke(echo.key, "Echo", b"deployed"))["body"] == b"deployed"
    finally:
        await gw.close()


async def test_firmware_with_the_host_frozen_in_boots_main_py_with_only_its_config(
        edgehost, unix_board, boot, tmp_path):
    board = unix_board(frozen=True)
    registry, port = tmp_path / "boards.json", free_port()
    done = provision(edgehost, board, registry, port, "--show-key")
    assert done.code == 0, done
    board.stop()
    assert sorted(str(p.relative_to(board.folder)) for p in board.folder.rglob("*")) == [
        "config.json", "profiles", "profiles/%s.json" % PROFILE]
    key = load_registry(registry)[0].pairing_key
    assert "pairing key: %s" % key.hex() in done.out
    gw = await greet(port, "kitchen", key, boot(board.folder, frozen=True))
    try:
        assert (gw.hello["board"], gw.hello["profile"]) == ("kitchen", PROFILE)
    finally:
        await gw.close()


async def test_a_fresh_board_waiting_for_its_config_is_provisioned_and_then_serves(
        edgehost, unix_board, boot, tmp_path):
    """Frozen main.py runs at boot and waits for config.json; provision interrupts it (Ctrl-C
    through mpremote), writes the config, and the next boot serves."""
    board = unix_board(frozen=True, args=("-i", "-m", "main"))
    registry, port = tmp_path / "boards.json", free_port()
    done = provision(edgehost, board, registry, port)
    assert done.code == 0, done
    board.stop()
    gw = await greet(port, "kitchen", load_registry(registry)[0].pairing_key,
                     boot(board.folder, frozen=True))
    try:
        assert gw.hello["board"] == "kitchen"
    finally:
        await gw.close()


def test_provisioning_again_gives_a_fresh_key_and_replaces_the_registry_entry(
        edgehost, unix_board, tmp_path):
    board = unix_board()
    registry, port = tmp_path / "boards.json", free_port()
    registry.write_text(json.dumps({"boards": [
        {"board_id": "porch", "pairing_key": "11" * 32, "tcp": "127.0.0.1:4000"}]}))
    assert provision(edgehost, board, registry, port).code == 0
    first = {e.board_id: e.pairing_key for e in load_registry(registry)}
    again = provision(edgehost, board, registry, port)
    assert again.code == 0, again
    assert "replaced the config.json" in again.err
    second = {e.board_id: e.pairing_key for e in load_registry(registry)}
    assert sorted(second) == ["kitchen", "porch"] and second["porch"] == first["porch"]
    assert second["kitchen"] != first["kitchen"]
    assert json.loads((board.folder / "config.json").read_text())["pairing_key"] == \
        second["kitchen"].hex()


def test_provision_writes_a_usb_board_with_the_gateway_on_the_same_port(
        edgehost, unix_board, tmp_path):
    board = unix_board()
    registry = tmp_path / "boards.json"
    done = edgehost("provision", "--port", board.port, "--board-id", "desk", "--profile",
                    PROFILE, "--registry", registry, "--usb", "--key-file", tmp_path / "desk.key")
    assert done.code == 0, done
    entry = load_registry(registry)[0]
    assert (entry.how, entry.address) == ("port", board.port)
    assert json.loads((board.folder / "config.json").read_text())["transport"] == {"kind": "usb"}
    assert json.loads((tmp_path / "desk.key").read_text())["pairing_key"] == \
        entry.pairing_key.hex()


def test_provision_with_native_code_gives_board_registry_and_key_file_one_native_key(
        edgehost, unix_board, tmp_path):
    board = unix_board()
    registry = tmp_path / "boards.json"
    done = edgehost("provision", "--port", board.port, "--board-id", "desk", "--profile",
                    PROFILE, "--registry", registry, "--usb", "--key-file", tmp_path / "desk.key",
                    "--native-code")
    assert done.code == 0, done
    assert "native code: on" in done.out
    entry = load_registry(registry)[0]
    config = json.loads((board.folder / "config.json").read_text())
    key_file = json.loads((tmp_path / "desk.key").read_text())
    assert entry.native_key is not None and len(entry.native_key) == 32
    assert config["native_key"] == key_file["native_key"] == entry.native_key.hex()
    assert entry.native_key != entry.pairing_key
    # without the option the board takes no native code (off by default)
    again = edgehost("provision", "--port", board.port, "--board-id", "desk", "--profile",
                     PROFILE, "--registry", registry, "--usb")
    assert again.code == 0, again
    assert "native_key" not in json.loads((board.folder / "config.json").read_text())
    assert load_registry(registry)[0].native_key is None


def test_provision_for_wifi_writes_the_network_and_a_listening_registry_entry(
        edgehost, unix_board, tmp_path):
    board = unix_board()
    registry = tmp_path / "boards.json"
    done = edgehost("provision", "--port", board.port, "--board-id", "shed", "--profile",
                    PROFILE, "--registry", registry, "--wifi", "garden", "--gateway",
                    "192.0.2.10:4500", env={"EDGEHOST_WIFI_PASSWORD": "s3cret"})
    assert done.code == 0, done
    assert json.loads((board.folder / "config.json").read_text())["transport"] == {
        "kind": "wifi", "ssid": "garden", "password": "s3cret", "gateway_host": "192.0.2.10",
        "gateway_port": 4500}
    entry = load_registry(registry)[0]
    assert (entry.how, entry.address) == ("listen", "0.0.0.0:4500")
    assert "s3cret" not in done.out + done.err


def test_provision_over_uart_takes_the_profiles_pins_and_needs_the_gateways_port(
        edgehost, unix_board, tmp_path):
    board = unix_board()
    registry = tmp_path / "boards.json"
    base = ("provision", "--port", board.port, "--board-id", "bench", "--profile", PROFILE,
            "--registry", registry, "--uart")
    missing = edgehost(*base)
    assert (missing.code, missing.err) == (1, "edgehost: provision: --uart: give --gateway-port "
                                              "PATH, the gateway's serial port wired to the "
                                              "board's UART\n")
    done = edgehost(*base, "--gateway-port", "/dev/ttyUSB7")
    assert done.code == 0, done
    assert json.loads((board.folder / "config.json").read_text())["transport"] == {
        "kind": "uart", "uart": 1, "tx": 17, "rx": 18, "baud": 921600}
    entry = load_registry(registry)[0]
    assert (entry.how, entry.address, entry.baud) == ("port", "/dev/ttyUSB7", 921600)


@pytest.mark.parametrize("args, error", [
    (["--board-id", "", "--tcp-listen", "127.0.0.1:1"], "board_id"),
    (["--board-id", "b", "--wifi", "net"], "--wifi needs --gateway HOST:PORT"),
    (["--board-id", "b", "--tcp-listen", "nowhere"], "--tcp-listen 'nowhere': expected HOST:PORT"),
    (["--board-id", "b", "--usb", "--label", "room"], "--label: expected NAME=VALUE"),
])
def test_provision_refuses_bad_options_before_touching_the_board(edgehost, tmp_path, args,
                                                                 error):
    # the port does not exist: a refusal that came after opening it would say so instead
    done = edgehost("provision", "--port", str(tmp_path / "no-such-port"), "--profile", PROFILE,
                    "--registry", tmp_path / "boards.json", *args)
    assert done.code in (1, 2)
    assert error in done.err and len(done.err.splitlines()) == 1, done.err
    assert not (tmp_path / "boards.json").exists()


def test_provision_refuses_a_registry_it_cannot_read_and_leaves_the_board_alone(
        edgehost, unix_board, tmp_path):
    board = unix_board()
    registry = tmp_path / "boards.json"
    registry.write_text("{not json")
    done = provision(edgehost, board, registry, free_port())
    assert done.code == 1
    assert done.err.startswith("edgehost: provision: board registry %s: cannot read it as JSON"
                               % registry)
    assert done.err.rstrip().endswith("nothing was written")
    assert not (board.folder / "config.json").exists()
    assert registry.read_text() == "{not json"


def test_the_files_deploy_copies_are_the_files_the_manifest_freezes():
    """Both lists name the host code; read the manifest with MicroPython's own reader."""
    import sys

    tools = mpbuild.OUTPUT / "src" / "micropython" / "tools"
    if not tools.exists():
        mpbuild.ensure_built()
    sys.path.insert(0, str(tools))
    try:
        import manifestfile
    finally:
        sys.path.remove(str(tools))
    manifest = manifestfile.ManifestFile(manifestfile.MODE_FREEZE,
                                         {"MPY_DIR": str(tools.parent), "MPY_LIB_DIR": None,
                                          "PORT_DIR": None, "BOARD_DIR": None})
    manifest.execute(str(mpbuild.HOST_MANIFEST))
    frozen = {result.target_path: hashlib.sha256(open(result.full_path, "rb").read()).digest()
              for result in manifest.files()}
    deployed = {path: hashlib.sha256(source.read_bytes()).digest()
                for path, source in boardfiles.host_sources().items()}
    assert frozen == deployed


def test_a_bytecode_version_mpy_cross_cannot_write_is_named_with_the_ones_it_can():
    with pytest.raises(boardfiles.BoardFilesError) as caught:
        boardfiles.mpy_cross_command("9.9")
    assert str(caught.value) == ("the board loads .mpy version 9.9, which mpy-cross cannot "
                                 "write (it knows 0, 2, 3, 4, 5, 6, 6.1, 6.2, 6.3)")


def test_a_file_the_board_cannot_write_stops_deploy_in_one_line(edgehost, unix_board):
    board = unix_board()
    (board.folder / "edgelink").write_text("a file where the package's folder goes")
    done = edgehost("deploy", "--port", board.port)
    assert done.code == 1
    assert done.err.splitlines()[:-1] == [waiting_note(board.port)], done.err
    assert done.err.splitlines()[-1].startswith("edgehost: %s: writing edgelink/" % board.port)


def test_a_registry_entry_a_gateway_would_refuse_leaves_the_file_as_it_was(tmp_path):
    from edgegate.devices.registry import RegistryError, put_board

    registry = tmp_path / "boards.json"
    put_board(registry, {"board_id": "porch", "pairing_key": "11" * 32, "tcp": "10.0.0.2:4000"})
    before = registry.read_text()
    with pytest.raises(RegistryError) as caught:
        put_board(registry, {"board_id": "shed", "pairing_key": "22" * 32})
    assert str(caught.value) == ("board registry %s, board 'shed': give exactly one of port "
                                 "(serial), tcp (dial) or listen (boards dial in), as a string"
                                 % registry)
    assert registry.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["boards.json"]


def test_deploy_shows_its_progress_on_a_terminal(unix_board, tmp_path):
    """stderr on a pseudo-terminal, as in a user's shell: the file on its way and a bar."""
    import os
    import subprocess

    from support.commands import EDGEHOST

    board = unix_board()
    master, slave = os.openpty()
    proc = subprocess.Popen([EDGEHOST, "deploy", "--port", board.port], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the command ended and closed its end
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.wait(120) == 0
    assert b"copied" in proc.stdout.read()
    # the bar redraws a few times a second, so which files it happened to show depends on
    # the machine's load: any of the board's packages will do
    assert re.search(rb"(edgehost|edgelink|edgemodule|edgeprofile)/\w+\.m?py", seen), seen[-500:]
    assert "━".encode() in seen, seen[-500:]


def waiting_note(port: str) -> str:
    return "edgehost: %s: waiting for the MicroPython REPL (interrupting what the board runs)" \
        % port


@pytest.mark.parametrize("command", [
    ["provision", "--board-id", "b", "--profile", PROFILE, "--registry",
     "/nonexistent/boards.json", "--usb"],
    ["deploy"]])
def test_a_port_where_nothing_answers_says_what_it_waits_for_then_gives_up_at_once(
        edgehost, command):
    """A pseudo-terminal nobody answers on: what a board that is off, or runs no MicroPython,
    looks like. Not a byte comes back to the Ctrl-C, so no raw REPL is waited for."""
    import os

    master, slave = os.openpty()
    port = os.ttyname(slave)
    try:
        done = edgehost(command[0], "--port", port, *command[1:])
    finally:
        os.close(slave)
        os.close(master)
    assert (done.code, done.out) == (1, "")
    assert done.err.splitlines() == [
        waiting_note(port),
        "edgehost: %s: no MicroPython REPL answers (nothing came back within 3 s of a Ctrl-C); "
        "is the board running MicroPython, and no other program holding the port?" % port]
