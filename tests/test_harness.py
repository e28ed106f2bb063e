"""The test harness itself: MicroPython runner, nats-server fixture, board module imports."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import nats
import pytest

from edgegate.natsserver import EmbeddedNatsServer

ROOT = Path(__file__).resolve().parent.parent


def board_modules() -> list[str]:
    """Dotted names of every module under firmware/ and shared/."""
    names = []
    for top in ("firmware", "shared"):
        base = ROOT / top
        for path in sorted(base.rglob("*.py")):
            rel = path.relative_to(base).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts.pop()
            # boot.py / main.py would start a board; manifest.py is the firmware build's freeze
            # list, read by MicroPython's build tools, not code that runs on the board
            if parts and parts[0] not in ("boot", "main", "manifest"):
                names.append(".".join(parts))
    return names


def test_the_board_interpreters_run_board_code(board_python):
    out = board_python("import sys\nprint(sys.implementation.name)\n")
    assert out.strip() == board_python.name


@pytest.mark.parametrize(
    "cpython_only",
    [
        "import dataclasses\n",
        "import typing\nx: typing.List[int] = []\n",
        "match 1:\n    case 1:\n        pass\n",
    ],
    ids=["dataclasses", "typing", "match-statement"],
)
def test_the_board_fixture_fails_the_test_on_cpython_only_code(board_python, cpython_only):
    with pytest.raises(pytest.fail.Exception, match="failed under " + board_python.name):
        board_python(cpython_only)


def test_every_board_module_imports_on_the_board_interpreters(board_python):
    modules = board_modules()
    assert "edgehost" in modules and "edgelink" in modules
    code = "".join(f"import {name}\nprint('imported', {name!r})\n" for name in modules)
    out = board_python(code)
    assert out.split("\n").count("") <= 1
    for name in modules:
        assert f"imported {name}" in out


async def test_nats_server_fixture_serves_core_nats_and_jetstream(nats_server):
    nc = await nats.connect(nats_server.url)
    try:
        sub = await nc.subscribe("edgehost.test")
        await nc.publish("edgehost.test", b"hello")
        msg = await sub.next_msg(timeout=5)
        assert msg.data == b"hello"
        js = nc.jetstream()
        kv = await js.create_key_value(bucket="LATTICEDATA_test")
        await kv.put("CLAIMS_M123", b"{}")
        assert (await kv.get("CLAIMS_M123")).value == b"{}"
    finally:
        await nc.close()


def test_nats_server_is_gone_after_stop(tmp_path):
    server = EmbeddedNatsServer(tmp_path / "nats").start()
    port = server.port
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    server.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2)


async def test_two_nats_servers_get_different_ports(tmp_path):
    with EmbeddedNatsServer(tmp_path / "a") as a, EmbeddedNatsServer(tmp_path / "b") as b:
        assert a.port != b.port
        for server in (a, b):
            nc = await nats.connect(server.url)
            await nc.flush()
            await nc.close()
    await asyncio.sleep(0)
