"""Actors persisted on the board's flash: whole ones come back at boot, cut-off ones never run."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from edgehost.store import ActorStore

MODULE = b"\x00asm\x01\x00\x00\x00" + bytes(range(256)) * 9
RECORD = {"claims": "eyJ0eXAiOiJqd3QifQ.e30.c2ln", "call_alias": "demo/echo"}


def test_saved_actor_is_restored_with_its_digest(tmp_path):
    store = ActorStore(str(tmp_path))
    stored = store.save("MKEY1", MODULE, RECORD)
    assert stored["digest"] == hashlib.sha256(MODULE).hexdigest()
    kept, dropped = ActorStore(str(tmp_path)).restore()
    assert dropped == []
    assert [(r["key"], r["digest"], r["call_alias"]) for r in kept] == [
        ("MKEY1", stored["digest"], "demo/echo")
    ]
    assert store.load_module(kept[0]) == MODULE


def test_module_cut_off_by_power_loss_is_discarded(tmp_path):
    store = ActorStore(str(tmp_path))
    store.save("MKEY1", MODULE, RECORD)
    offset = store.region.entries[0][0]
    with open(store.region.flash.path, "r+b") as f:  # its bytes half erased
        f.seek(offset + 100)
        f.write(b"\xff" * 1000)
    kept, dropped = ActorStore(str(tmp_path)).restore()
    assert kept == []
    assert dropped == [("MKEY1", "module cut off or corrupt")]
    assert ActorStore(str(tmp_path)).used_bytes() == 0


def test_record_cut_off_by_power_loss_is_discarded(tmp_path):
    store = ActorStore(str(tmp_path))
    store.save("MKEY1", MODULE, RECORD)
    path = store.record_path("MKEY1")
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])
    kept, dropped = ActorStore(str(tmp_path)).restore()
    assert kept == [] and dropped == [("MKEY1.json", "record cut off or corrupt")]


def test_half_written_temporary_files_are_ignored(tmp_path):
    store = ActorStore(str(tmp_path))
    staged = store.stage(len(MODULE))  # a module cut off on its way in
    staged.write(MODULE[:1000])
    open(store.record_path("MKEY2") + ".tmp", "wb").write(b'{"key": "MK')
    again = ActorStore(str(tmp_path))
    kept, dropped = again.restore()
    assert kept == [] and dropped == []
    assert again.used_bytes() == 0 and os.listdir(store.actors_dir) == []


def test_complete_record_left_under_tmp_name_is_recovered(tmp_path):
    store = ActorStore(str(tmp_path))
    store.save("MKEY1", MODULE, RECORD)
    path = store.record_path("MKEY1")
    os.rename(path, path + ".tmp")  # power cut between removing the old record and the rename
    kept, _ = ActorStore(str(tmp_path)).restore()
    assert [r["key"] for r in kept] == ["MKEY1"]


def test_swap_replaces_module_and_drops_the_old_one(tmp_path):
    store = ActorStore(str(tmp_path))
    old = store.save("MKEY1", MODULE, RECORD)
    new = store.save("MKEY1", MODULE + b"\x00\x01", RECORD)
    assert [e[2].hex() for e in store.region.entries] == [new["digest"]]
    assert old["digest"] != new["digest"]
    store.remove("MKEY1")
    assert ActorStore(str(tmp_path)).restore() == ([], [])
    assert store.region.entries == [] and store.used_bytes() == 0


@pytest.mark.micropython
def test_store_round_trip_and_power_cut_on_the_board_interpreters(board_python, tmp_path):
    out = board_python(
        "import binascii\n"
        "from edgehost.store import ActorStore\n"
        f"root = {str(tmp_path / 'flash')!r}\n"
        f"module = {MODULE!r}\n"
        "s = ActorStore(root)\n"
        "r = s.save('MKEY1', module, {'call_alias': 'x'})\n"
        "s.save('MKEY2', module + b'2', {})\n"
        "at = s.region.find(binascii.unhexlify(r['digest']))[0]\n"
        "s.region.flash.erase(at, 4096)\n"
        "kept, dropped = ActorStore(root).restore()\n"
        "print([k['key'] for k in kept], dropped)\n"
    )
    assert out.strip() == "['MKEY2'] [('MKEY1', 'module cut off or corrupt')]"


def test_actors_an_older_firmware_stored_as_files_move_into_the_module_region(tmp_path):
    # the layout before the module region: modules/<sha256>.wasm beside actors/<key>.json
    digest = hashlib.sha256(MODULE).hexdigest()
    (tmp_path / "modules").mkdir()
    (tmp_path / "modules" / f"{digest}.wasm").write_bytes(MODULE)
    (tmp_path / "incoming").mkdir()
    (tmp_path / "incoming" / "3.part").write_bytes(MODULE[:100])
    (tmp_path / "actors").mkdir()
    body = json.dumps(dict(RECORD, key="MKEY1", digest=digest, size=len(MODULE))).encode()
    (tmp_path / "actors" / "MKEY1.json").write_bytes(
        body + b"\n" + hashlib.sha256(body).hexdigest().encode())
    kept, dropped = ActorStore(str(tmp_path)).restore()
    assert [r["key"] for r in kept] == ["MKEY1"] and dropped == []
    again = ActorStore(str(tmp_path))
    assert again.restore()[0] == kept
    assert again.load_module(kept[0]) == MODULE
    assert sorted(os.listdir(tmp_path)) == ["actors", "modules.region"]
