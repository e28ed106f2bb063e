"""Wi-Fi boards dial in: two boards running firmware/main.py on the board's MicroPython (with
its wasm3 engine) call the gateway's listening port, which both share, and become hosts."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
from pathlib import Path

import nats
import pytest
from support.latticecalls import invoke, ping_hosts
from support.latticerig import serving, signed_actor, start_gateway, wait_for, write_registry

from edgecli import mpbuild
from edgegate.vhost.install import install_on_board
from edgegate.wascap import KeyPair

pytestmark = [pytest.mark.nats, pytest.mark.micropython]

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WifiBoard:
    """firmware/main.py with a Wi-Fi config whose gateway is 127.0.0.1:`port`."""

    def __init__(self, folder: Path, board_id: str, port: int):
        folder.mkdir(parents=True)
        self.board_id, self.key = board_id, secrets.token_bytes(32)
        config = {"board_id": board_id, "pairing_key": self.key.hex(),
                  "profile": "esp32-s3-devkitc-n8r8",
                  "transport": {"kind": "wifi", "ssid": "lab", "password": "",
                                "gateway_host": "127.0.0.1", "gateway_port": port}}
        (folder / "config.json").write_text(json.dumps(config))
        shutil.copytree(ROOT / "hardware" / "profiles", folder / "profiles")
        (folder / "start.py").write_text("import main\nmain.main(recheck_ms=100)\n")
        env = dict(os.environ, MICROPYPATH=f"{ROOT / 'firmware'}:{ROOT / 'shared'}")
        self.log = (folder / "console.log").open("w")
        self.proc = subprocess.Popen([str(mpbuild.ensure_built()), "-X", "heapsize=16M",
                                      "start.py"], cwd=folder, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def entry(self, port: int) -> dict[str, object]:
        return {"board_id": self.board_id, "pairing_key": self.key.hex(),
                "listen": f"127.0.0.1:{port}"}

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(10)
        self.log.close()


async def test_two_wifi_boards_dial_into_one_listening_port(nats_server, actors, tmp_path,
                                                           cluster_env):
    port = free_port()
    boards = [WifiBoard(tmp_path / name, name, port) for name in ("porch", "shed")]
    registry = write_registry(tmp_path / "boards.json", *(b.entry(port) for b in boards))
    gw = await start_gateway(registry, nats_server.url, cluster_env)
    nc = await nats.connect(nats_server.url)
    try:
        for board in boards:
            await wait_for(serving(gw, board.board_id, 0), timeout=30,
                           what=f"board {board.board_id} dialling in")
        hosts = await ping_hosts(nc)
        assert {h["labels"]["edgehost.board"] for h in hosts} == {"porch", "shed"}
        assert {h["labels"]["hostcore.os"] for h in hosts} == {"micropython"}
        echo, echo_key = signed_actor(actors["echo"], "echo")
        await install_on_board(gw.hosts["shed"], echo)
        cluster = KeyPair.from_seed(cluster_env["WASMCLOUD_CLUSTER_SEED"])
        answer = await invoke(nc, cluster, echo_key, "Echo", b"over wi-fi")
        assert answer.error is None, answer.error
        assert answer.msg == b"over wi-fi"
    finally:
        await nc.close()
        await gw.stop()
        for board in boards:
            board.stop()
