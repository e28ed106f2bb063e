"""The committed vectors hold under CPython and under MicroPython: same bytes, same verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import link_vectorcheck

HERE = Path(__file__).resolve().parent
VECTORS = json.loads((HERE / "vectors.json").read_text())


def test_vectors_cover_frames_sessions_messages_chunks_and_rejections():
    names = [s["name"] for s in VECTORS["sessions"]]
    assert names == ["handshake and messages", "chunked install", "reconnect", "rejected inputs"]
    rejected = VECTORS["sessions"][3]["drops"]
    assert rejected["gateway"] == {"replay": 1, "bad MAC": 2, "crc": 1, "unknown board": 1}
    assert rejected["board"] == {"handshake": 1, "malformed message": 1}
    assert {r["reason"] for r in VECTORS["frames"]["rejected"]} == \
        {"version", "crc", "cobs", "short", "oversize"}


def test_vectors_hold_under_cpython():
    failures, checked = link_vectorcheck.check(VECTORS)
    assert failures == []
    assert checked > 150


def test_a_changed_vector_is_caught():
    tampered = json.loads(json.dumps(VECTORS))
    tampered["sessions"][0]["events"][1]["wire"] = "00"
    failures, _ = link_vectorcheck.check(tampered)
    assert failures


def test_vectors_hold_on_the_board_interpreters(board_python):
    out = board_python(
        "import sys, json\n"
        f"sys.path.append({str(HERE)!r})\n"
        "import link_vectorcheck\n"
        f"with open({str(HERE / 'vectors.json')!r}) as f:\n"
        "    vectors = json.load(f)\n"
        "failures, checked = link_vectorcheck.check(vectors)\n"
        "for failure in failures:\n"
        "    print('FAIL', failure)\n"
        "print('checked', checked)\n"
    )
    assert "FAIL" not in out, out
    cpython_count = link_vectorcheck.check(VECTORS)[1]
    assert out.strip().endswith(f"checked {cpython_count}")
