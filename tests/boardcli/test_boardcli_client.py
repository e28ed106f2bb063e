"""BoardClient, the class behind `edgehost board`, used directly against a simulated board."""

from __future__ import annotations

import hashlib

import pytest

from edgegate.devices.boardclient import BoardClient, BoardRefused
from edgegate.devices.boardkey import BoardKey
from edgegate.wascap import SignedModule


async def test_install_reports_real_progress_and_keeps_the_actor_list_current(
        start_sim, key_file, signed):
    sim = start_sim(tcp=False)
    path, key = signed("grow")
    module = path.read_bytes()
    client = await BoardClient.connect_serial(sim.where, BoardKey.load(key_file), timeout=10)
    try:
        assert client.actors == {}
        sent: list[int] = []
        reply = await client.install(module, SignedModule(module).token.text, key, sent.append)
        assert reply["t"] == "installed"
        assert sent == sorted(sent) and sent[-1] > len(module)  # framing on top of the module
        assert sent[-1] <= client.wire_bytes[0]
        assert client.actors[key]["sha256"] == hashlib.sha256(module).hexdigest()

        await client.remove(key)
        assert client.actors == {}
        with pytest.raises(BoardRefused) as refused:
            await client.call(key, "Fill", b"\x04\x00\x00\x00")
        assert refused.value.code == "unknown_actor"
    finally:
        await client.close()
