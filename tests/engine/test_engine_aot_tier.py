"""The ahead-of-time tier end to end: the real gateway translates a verified actor for a board
that opted in (`sim --micropython --native-code`), signs it with the board's native-code key,
and the board runs it natively with wasm3's answers, traps and deadline; whatever does not
match the board or its key is refused with one log line and the actor runs on wasm3."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import struct
import subprocess
from pathlib import Path

import nats
import pytest
from support.commands import COMMAND_TIMEOUT, EDGEHOST
from support.gateway import tcp_gateway
from support.latticecalls import invoke
from support.latticefixtures import cluster_env
from support.latticerig import (
    GatewayProcess,
    SimBoard,
    edgehost,
    signed_actor,
    wait_for,
    write_registry,
)
from support.sims import BoardInThread

from edgecli import aottranslator
from edgegate.config import LatticeConfig
from edgegate.devices.boardkey import BoardKey
from edgegate.devices.registry import RegistryError, load_registry
from edgegate.gateway import Gateway
from edgegate.vhost.install import install_on_board, remove_from_board
from edgegate.vhost.nativecode import NATIVE_SECONDS
from edgegate.wascap import ActorMetadata, KeyPair, sign_module
from edgehost.config import BoardConfig, ConfigError
from edgemodule import translation

__all__ = ["cluster_env"]

pytestmark = [pytest.mark.micropython, pytest.mark.nats]

CRUNCH = ("Crunch", struct.pack("<I", 50))
ECHO = ("Echo", b"hello tier")


class Rig:
    """Simulated boards on the board's MicroPython and one in-process gateway that serves them
    with the command line's translator (or the test's)."""

    def __init__(self, tmp_path: Path, nats_url: str, env: dict[str, str]):
        self.tmp_path = tmp_path
        self.nats_url = nats_url
        self.env = env
        self.boards: dict[str, SimBoard] = {}
        self.gateway = None
        self.nc = None
        self.cluster = KeyPair.from_seed(env["WASMCLOUD_CLUSTER_SEED"])

    def board(self, board_id: str, *args: str, limits: dict | None = None,
              native_key: bytes | None = None) -> SimBoard:
        """`sim --micropython ARGS` as board `board_id`; with `limits` it runs from a
        config.json that lowers them (and holds `native_key`, also put in its key file)."""
        board = SimBoard(self.tmp_path / board_id, board_id, "--micropython", *args)
        if limits is not None:
            config = {"board_id": board_id, "pairing_key": board.key.pairing_key.hex(),
                      "profile": "esp32-s3-devkitc-n8r8", "limits": limits,
                      "transport": {"kind": "usb"}}
            if native_key is not None:
                config["native_key"] = native_key.hex()
            (board.folder / "config.json").write_text(json.dumps(config))
            board.sim_args += ["--config", str(board.folder / "config.json")]
        if native_key is not None:
            board.key_file.write_text(json.dumps({"board_id": board_id,
                                                  "pairing_key": board.key.pairing_key.hex(),
                                                  "native_key": native_key.hex()}))
        self.boards[board_id] = board.start()
        return board

    async def serve(self, translator=aottranslator.translate, **native_keys: bytes | None):
        """The gateway for every board started; `native_keys` replace a board's key in its
        registry entry (a gateway provisioned with another key than its board, or none)."""
        entries = []
        for board_id, board in self.boards.items():
            entry = board.registry_entry()
            if board_id in native_keys:
                key = BoardKey.load(board.key_file)
                entry = {"board_id": board_id, "pairing_key": key.pairing_key.hex(),
                         "tcp": board.address}
                if native_keys[board_id] is not None:
                    entry["native_key"] = native_keys[board_id].hex()
            entries.append(entry)
        registry = write_registry(self.tmp_path / "boards.json", *entries)
        config = LatticeConfig.from_env(self.env, nats_url=self.nats_url)
        self.gateway = Gateway(config, load_registry(registry), translator=translator)
        await self.gateway.start()
        self.nc = await nats.connect(self.nats_url)
        for board_id in self.boards:
            await wait_for(lambda b=board_id: self.host(b) is not None and self.host(b).ready,
                           timeout=30, what=f"board {board_id} served")
        return self.gateway

    def host(self, board_id: str):
        return self.gateway.hosts.get(board_id)

    async def install(self, board_id: str, name: str, actors: dict[str, bytes]) -> str:
        module, key = signed_actor(actors[name], name)
        await install_on_board(self.host(board_id), module)
        return key

    async def call(self, actor: str, operation: str, payload: bytes) -> tuple[bytes, str]:
        """(the response, its error with the actor's key as "<actor>", so that two boards'
        answers compare)"""
        response = await invoke(self.nc, self.cluster, actor, operation, payload, timeout=30)
        return response.msg, (response.error or "").replace(actor, "<actor>")

    def engine(self, board_id: str, actor: str) -> str:
        return self.host(board_id).hello["actor_info"][actor]["engine"]

    def console(self, board_id: str) -> str:
        return self.boards[board_id].sim.stderr

    def flash(self, board_id: str) -> Path:
        return self.boards[board_id].folder / "flash" / "actors"  # the board's store

    async def close(self) -> None:
        if self.nc is not None:
            await self.nc.close()
        if self.gateway is not None:
            await self.gateway.stop()
        for board in self.boards.values():
            board.stop()


@pytest.fixture
async def rig(tmp_path, nats_server, cluster_env, sim_micropython, actors):
    made = Rig(tmp_path, nats_server.url, cluster_env)
    try:
        yield made
    finally:
        await made.close()


async def test_crunch_and_echo_run_on_the_tier_with_the_answers_of_wasm3(rig, actors):
    rig.board("tier", "--native-code")
    rig.board("plain")  # the tier is off by default
    await rig.serve()
    answers = {}
    for board_id in ("tier", "plain"):
        crunch = await rig.install(board_id, "crunch", actors)
        echo = await rig.install(board_id, "echo", actors)
        answers[board_id] = [await rig.call(crunch, *CRUNCH), await rig.call(echo, *ECHO),
                             await rig.call(crunch, "Crunch", b"x")]
        expected = "aot" if board_id == "tier" else "wasm3"
        assert (rig.engine(board_id, crunch), rig.engine(board_id, echo)) == (expected,
                                                                              expected)
    assert answers["tier"] == answers["plain"]
    assert answers["tier"][0][0] and not answers["tier"][0][1]  # an answer, not an error
    assert answers["tier"][1] == (b"hello tier", "")
    assert answers["tier"][2][1]  # the guest's error, the same on both
    assert "runs its translation" in rig.console("tier")
    # a board that did not opt in is sent no translation and says nothing of native code
    assert "native" not in rig.host("plain").hello
    assert "translation" not in rig.console("plain")


async def test_a_runaway_actor_on_the_tier_stops_at_the_deadline_wasm3_gives(rig, actors):
    limits = {"call_deadline_ms": 300}
    rig.board("tier", limits=limits, native_key=secrets.token_bytes(32))
    rig.board("plain", limits=limits)
    await rig.serve()
    outcomes = {}
    for board_id in ("tier", "plain"):
        runaway = await rig.install(board_id, "runaway", actors)
        outcomes[board_id] = [await rig.call(runaway, "Spin", b""),
                              await rig.call(runaway, "Count", b"")]
        assert rig.engine(board_id, runaway) == ("aot" if board_id == "tier" else "wasm3")
    assert outcomes["tier"] == outcomes["plain"]
    assert "deadline exceeded" in outcomes["tier"][0][1]
    assert outcomes["tier"][1] == (b"\x01", "")  # the actor goes on after the trap


async def _translated(module: bytes, arch: str) -> bytes:
    """The translation the command line's translator makes, made off the event loop that the
    gateway of this process answers its boards on."""
    return (await asyncio.to_thread(aottranslator.translate, module, arch)).mpy


def _signed_fields(module: bytes, mpy: bytes, firmware: str) -> dict[str, str]:
    arch, version = translation.mpy_facts(mpy)
    return {"module": hashlib.sha256(module).hexdigest(), "arch": arch, "mpy": version,
            "firmware": firmware, "limits": aottranslator.compiled_limits(),
            "native": hashlib.sha256(mpy).hexdigest()}


# each way a translation can be wrong: (what is changed, the reason the board names)
TAMPERED = {
    "unsigned": ("sig", "signature: not made with this board's native-code key"),
    "wrong key": ("key", "signature: not made with this board's native-code key"),
    "another module": ("module", "module "),
    "another firmware": ("firmware", "firmware edgehost-board 0.0.1, this board needs"),
    "another architecture": ("arch", "arch x64, this board needs x86"),
    "another .mpy": ("native", "native: the .mpy's SHA-256 is not the one signed"),
    "other limits": ("limits", "limits countdown=1, this board needs"),
}


@pytest.mark.parametrize("case", sorted(TAMPERED))
async def test_a_translation_that_does_not_match_is_refused_and_the_actor_runs_on_wasm3(
        rig, actors, case):
    key = secrets.token_bytes(32)
    rig.board("tier", limits={}, native_key=key)
    await rig.serve(translator=None)  # this test plays the gateway's part
    module, actor = signed_actor(actors["crunch"], "crunch")
    await install_on_board(rig.host("tier"), module)
    before = await rig.call(actor, *CRUNCH)
    what, reason = TAMPERED[case]
    arch = "x64" if what == "arch" else "x86"
    mpy = await _translated(module, arch)
    fields = _signed_fields(module, mpy, rig.host("tier").hello["firmware"])
    changed = {"module": hashlib.sha256(b"other").hexdigest(),
               "firmware": "edgehost-board 0.0.1", "limits": "countdown=1",
               "native": hashlib.sha256(b"other").hexdigest()}
    if what in changed:
        fields[what] = changed[what]
    sig = {"sig": b"", "key": translation.sign(secrets.token_bytes(32), fields)}.get(
        what, translation.sign(key, fields))
    reply = await rig.host("tier").session.upload(
        {"t": "native", "actor": actor, "binding": fields, "sig": sig}, mpy,
        timeout=NATIVE_SECONDS)
    assert reply["engine"] == "wasm3"
    lines = [line for line in rig.console("tier").splitlines() if "translation refused" in line]
    assert len(lines) == 1 and actor in lines[0] and reason in lines[0], lines
    assert await rig.call(actor, *CRUNCH) == before  # still served, by wasm3
    assert rig.engine("tier", actor) == "wasm3"
    assert not list((rig.flash("tier") / "native").iterdir())  # nothing of it kept


async def test_a_gateway_holding_another_native_key_is_refused_and_wasm3_serves(rig, actors):
    rig.board("tier", "--native-code")
    await rig.serve(tier=secrets.token_bytes(32))
    await _crunch_refused_and_on_wasm3(rig, actors, "not made with this board's native-code key")


async def _crunch_refused_and_on_wasm3(rig: Rig, actors, reason: str) -> None:
    """Crunch installed on board tier: its translation refused in one line naming it and
    `reason`, and crunch answering on wasm3."""
    crunch = await rig.install("tier", "crunch", actors)
    assert rig.engine("tier", crunch) == "wasm3"
    [line] = [x for x in rig.console("tier").splitlines() if "translation refused" in x]
    assert crunch in line and reason in line
    reply, error = await rig.call(crunch, *CRUNCH)
    assert reply and not error


async def test_a_gateway_without_the_boards_native_key_says_so_in_one_line(rig, actors,
                                                                           caplog):
    rig.board("tier", "--native-code")
    await rig.serve(tier=None)
    with caplog.at_level(logging.WARNING, logger="edgegate.vhost.nativecode"):
        echo = await rig.install("tier", "echo", actors)
    [line] = [r.getMessage() for r in caplog.records if r.name == "edgegate.vhost.nativecode"]
    assert "board tier takes native code, but the gateway has no native_key for it" in line
    assert echo in line
    assert "translation" not in rig.console("tier")  # nothing was sent
    assert await rig.call(echo, *ECHO) == (b"hello tier", "")


async def test_a_board_that_did_not_opt_in_refuses_a_translation_sent_anyway(rig, actors):
    rig.board("plain")
    await rig.serve(translator=None)
    module, actor = signed_actor(actors["echo"], "echo")
    await install_on_board(rig.host("plain"), module)
    mpy = await _translated(module, "x86")
    fields = _signed_fields(module, mpy, "x")
    from edgegate.devices.session import BoardRefused

    with pytest.raises(BoardRefused, match="takes no native code"):
        await rig.host("plain").session.upload(
            {"t": "native", "actor": actor, "binding": fields,
             "sig": translation.sign(bytes(32), fields)}, mpy, timeout=NATIVE_SECONDS)
    assert await rig.call(actor, *ECHO) == (b"hello tier", "")


async def test_a_restarted_board_runs_its_stored_translations_from_boot(rig, actors):
    board = rig.board("tier", "--native-code")
    await rig.serve()
    crunch = await rig.install("tier", "crunch", actors)
    echo = await rig.install("tier", "echo", actors)
    before = await rig.call(crunch, *CRUNCH)
    await _restart(rig, board)
    # what the board itself says in its hello after the reboot
    assert (rig.engine("tier", crunch), rig.engine("tier", echo)) == ("aot", "aot")
    assert "restored 2 actor(s)" in board.sim.stderr
    assert await rig.call(crunch, *CRUNCH) == before


async def _restart(rig: Rig, board: SimBoard, change=None) -> None:
    """Power the board off, `change()` its flash, power it on; back when the gateway has its
    new hello."""
    old = rig.host(board.board_id).session
    board.stop()
    if change is not None:
        change()
    board.start(int(board.address.rsplit(":", 1)[1]))
    host = rig.host(board.board_id)
    await wait_for(lambda: host.ready and host.session is not None and host.session is not old,
                   timeout=30, what="the board back")


async def test_a_firmware_update_invalidates_a_stored_translation_at_boot(rig, actors):
    board = rig.board("tier", "--native-code")
    await rig.serve()
    crunch = await rig.install("tier", "crunch", actors)
    before = await rig.call(crunch, *CRUNCH)
    record_path = rig.flash("tier") / "native" / f"{crunch}.json"

    def made_by_older_firmware() -> None:
        # the record as a board of another firmware stored it, signed by the same key
        record = json.loads(record_path.read_text())
        record["firmware"] = "edgehost-board 0.1.0"
        fields = {name: record[name] for name in translation.FIELDS}
        key = BoardKey.load(board.key_file).native_key
        record["sig"] = translation.sign(key, fields).hex()
        record_path.write_text(json.dumps(record))

    await _restart(rig, board, made_by_older_firmware)
    [line] = [x for x in board.sim.stderr.splitlines() if "translation refused" in x]
    assert crunch in line and "firmware edgehost-board 0.1.0, this board needs" in line
    assert rig.engine("tier", crunch) == "wasm3"
    assert await rig.call(crunch, *CRUNCH) == before
    assert list((rig.flash("tier") / "native").iterdir()) == []


async def test_remove_deletes_the_stored_translation_and_says_the_code_stays_loaded(rig,
                                                                                     actors):
    rig.board("tier", "--native-code")
    await rig.serve()
    crunch = await rig.install("tier", "crunch", actors)
    native = rig.flash("tier") / "native"
    assert sorted(p.suffix for p in native.iterdir()) == [".json", ".mpy"]
    await remove_from_board(rig.host("tier"), crunch)
    assert list(native.iterdir()) == []
    assert "stays loaded until a reboot" in rig.console("tier")


async def test_a_hot_swap_replaces_the_translation_and_the_old_code_stays_counted(rig,
                                                                                  actors):
    rig.board("tier", "--native-code")
    await rig.serve()
    account, subject = KeyPair.generate("account"), KeyPair.generate("module")
    first = sign_module(actors["crunch"], account, subject, ActorMetadata("worker", []))
    second = sign_module(actors["echo"], account, subject, ActorMetadata("worker", []))
    actor = subject.public_key
    await install_on_board(rig.host("tier"), first)
    assert (await rig.call(actor, *CRUNCH))[0]
    await install_on_board(rig.host("tier"), second, mode="update")
    assert rig.engine("tier", actor) == "aot"
    assert await rig.call(actor, *ECHO) == (b"hello tier", "")
    console = rig.console("tier")
    assert "swap deleted its translation; its native code stays loaded until a reboot" \
        in console
    native = rig.flash("tier") / "native"
    [record] = [json.loads(p.read_text()) for p in native.glob("*.json")]
    assert record["module"] == hashlib.sha256(second).hexdigest()
    assert len(list(native.glob("*.mpy"))) == 1  # the old translation's file is gone
    # both translations' code counts until a reboot
    sizes = [len(await _translated(m, "x86")) for m in (first, second)]
    assert f"{sum(sizes)} of 65536 bytes loaded since boot" in console


async def test_a_translation_over_the_native_code_budget_runs_on_wasm3(rig, actors):
    rig.board("tier", limits={"native_code_bytes": 4096}, native_key=secrets.token_bytes(32))
    await rig.serve()
    await _crunch_refused_and_on_wasm3(rig, actors, "over the budget of 4096")


async def test_an_architecture_the_gateway_cannot_build_for_is_one_line_and_wasm3(
        rig, actors, caplog):
    rig.board("tier", "--native-code")

    def xtensa_board(module: bytes, arch: str):
        return aottranslator.translate(module, "xtensawin")  # as an ESP32-S3 asks

    await rig.serve(translator=xtensa_board)
    with caplog.at_level(logging.WARNING, logger="edgegate.vhost.nativecode"):
        echo = await rig.install("tier", "echo", actors)
    lines = [r.getMessage() for r in caplog.records if r.name == "edgegate.vhost.nativecode"]
    assert len(lines) == 1 and echo in lines[0] and "Xtensa toolchain" in lines[0]
    assert "\n" not in lines[0]
    assert rig.engine("tier", echo) != "aot"
    assert "translation" not in rig.console("tier")  # none was sent
    assert await rig.call(echo, *ECHO) == (b"hello tier", "")


def test_a_native_key_that_is_not_32_bytes_is_refused_in_one_line(tmp_path):
    data = {"board_id": "b", "pairing_key": "00" * 32, "profile": "esp32-devkitc",
            "transport": {"kind": "usb"}, "native_key": "abc"}
    with pytest.raises(ConfigError, match="native_key must be 64 hex digits"):
        BoardConfig(data, "config.json", str(Path(__file__).parents[2] / "hardware" /
                                              "profiles"))
    registry = write_registry(tmp_path / "boards.json",
                              {"board_id": "b", "pairing_key": "00" * 32, "tcp": "h:1",
                               "native_key": "zz"})
    with pytest.raises(RegistryError, match="board 'b': native_key must be 64 hex digits"):
        load_registry(registry)


@pytest.mark.parametrize("argv, words", [
    (["sim", "--native-code", "--tcp", "127.0.0.1:0"], "--native-code needs --micropython"),
    (["up", "--native-code", "--no-status"], "--native-code needs --board-runtime micropython"),
])
def test_native_code_is_refused_where_the_board_runs_on_cpython(tmp_path, argv, words):
    key_file = tmp_path / "board.key"
    done = subprocess.run([EDGEHOST, *argv, "--key-file", str(key_file)]
                          if argv[0] == "sim" else
                          [EDGEHOST, *argv, "--state-dir", str(tmp_path / "state"),
                           "--nats-port", "1"],
                          capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (f"edgehost: {words}: only the board's "
                                                    f"MicroPython loads native code")
    assert not key_file.exists()


async def test_sim_native_code_adds_a_native_key_to_the_key_file_the_gateway_reads(rig):
    board = rig.board("tier", "--native-code")
    key = BoardKey.load(board.key_file)
    assert key.native_key is not None and key.native_key != key.pairing_key
    assert "added a native-code key to key file" in board.sim.stderr
    assert rig.boards["tier"].sim is not None
    await rig.serve()
    assert rig.host("tier").entry.native_key == key.native_key
    assert rig.host("tier").hello["native"]["arch"] == "x86"


async def test_a_board_whose_runtime_loads_no_native_code_says_so_and_runs_wasm3(tmp_path,
                                                                                 actors):
    board = BoardInThread(tmp_path / "flash", native_key=secrets.token_hex(32))
    try:
        async with tcp_gateway(board.url) as gw:
            assert "native" not in gw.hello  # the gateway sends it nothing to translate
        warned = [line for line in board.console if "native_key" in line]
        assert warned == ["[warn] config.json has a native_key, but cpython loads no native "
                          "code here: actors run on wasm3"]
    finally:
        board.stop()


async def test_the_gateway_command_translates_for_a_board_that_opted_in(rig, actors, tmp_path):
    board = rig.board("tier", "--native-code")
    registry = write_registry(tmp_path / "boards.json", board.registry_entry())
    env = {**rig.env, "EDGEHOST_KEYS_DIR": str(tmp_path / "keys"),
           "WASMCLOUD_ALLOW_FILE_LOAD": "true"}
    gateway = GatewayProcess(registry, rig.nats_url, env, tmp_path / "gateway.err")
    try:
        gateway.wait_for_line("board tier is host")
        module, key = signed_actor(actors["crunch"], "crunch")
        path = tmp_path / "crunch.wasm"
        path.write_bytes(module)
        started = edgehost("ctl", "start", "actor", f"file://{path}", "--nats", rig.nats_url,
                           env=env)
        assert started.returncode == 0, started.stderr

        def engine() -> str | None:
            shown = edgehost("board", "--nats", rig.nats_url, "--key-file", board.key_file,
                             "info", "--json", env=env)
            found = [a for a in json.loads(shown.stdout or "{}").get("actors", [])
                     if a["key"] == key]
            return found[0]["engine"] if found else None

        await wait_for(lambda: engine() == "aot", timeout=60, what="crunch on the tier")
    finally:
        gateway.stop()
