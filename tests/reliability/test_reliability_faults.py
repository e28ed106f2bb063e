"""The link proxy's damage: seeded, counted, and each fault doing what it says."""

from __future__ import annotations

import random

import pytest

from edgecli.linkfaults import Damage, FaultError, Rates, pair
from edgelink import frame

WRITER = frame.FrameWriter(256)
FRAMES = [bytes(WRITER.encode(bytes([0x10]) + bytes([i]) * 20)) for i in range(1, 41)]
STREAM = b"".join(FRAMES)


def frames_of(data: bytes) -> list[bytes]:
    return [piece + b"\x00" for piece in data.split(b"\x00")[:-1]]


def delivered(damage: Damage, data: bytes, cut: int = 7) -> bytes:
    out = b""
    for start in range(0, len(data), cut):  # the stream comes in pieces, not frames
        out += b"".join(piece for _, piece in damage.feed(data[start:start + cut]))
    return out


def only(fault: str, rate: float = 0.25, seed: int = 1, **extra) -> Damage:
    return Damage(Rates(**{fault: rate}, **extra), random.Random(seed))


def test_a_clean_proxy_passes_every_byte():
    damage = Damage(Rates(), random.Random(1))
    assert delivered(damage, STREAM) == STREAM
    assert damage.report() == {"frames": 40, "flip": 0, "drop": 0, "duplicate": 0, "delay": 0,
                               "truncate": 0, "reorder": 0, "disconnect": 0}


def test_the_same_seed_damages_the_same_way_and_another_seed_does_not():
    runs = [delivered(Damage(Rates.damaged(0.3), random.Random(seed)), STREAM)
            for seed in (5, 5, 6)]
    assert runs[0] == runs[1] != runs[2]


def test_drops_remove_whole_frames_and_are_counted():
    damage = only("drop")
    got = frames_of(delivered(damage, STREAM))
    assert len(got) == 40 - damage.counts["drop"] > 0
    assert all(f in FRAMES for f in got)


def test_duplicates_send_a_frame_twice():
    damage = only("duplicate")
    got = frames_of(delivered(damage, STREAM))
    assert len(got) == 40 + damage.counts["duplicate"] > 40
    assert sorted(set(got)) == sorted(FRAMES)


def test_flips_change_one_bit_of_a_frame():
    damage = only("flip")
    got = delivered(damage, STREAM)
    assert len(got) == len(STREAM)
    changed = [bin(a ^ b).count("1") for a, b in zip(got, STREAM, strict=True) if a != b]
    assert changed == [1] * damage.counts["flip"] and changed


def test_truncation_cuts_a_frame_short_but_keeps_its_end():
    damage = only("truncate")
    got = frames_of(delivered(damage, STREAM))
    short = [f for f in got if f not in FRAMES]
    assert len(short) == damage.counts["truncate"] > 0
    assert all(any(whole.startswith(f[:-1]) for whole in FRAMES) for f in short)


def test_reordering_swaps_a_frame_with_the_next():
    damage = only("reorder")
    got = frames_of(delivered(damage, STREAM))
    assert sorted(got) == sorted(FRAMES[:len(got)]) and got != FRAMES[:len(got)]


def test_a_delay_holds_a_frame_back_for_the_time_given():
    damage = only("delay", delay_ms=80)
    pieces = damage.feed(STREAM)
    assert sorted({delay for delay, _ in pieces}) == [0.0, 0.08]
    assert sum(1 for delay, _ in pieces if delay) == damage.counts["delay"]


def test_a_disconnect_is_flagged_for_the_proxy():
    damage = only("disconnect", rate=1.0)
    damage.feed(FRAMES[0])
    assert damage.disconnect and damage.counts["disconnect"] == 1


def test_bytes_can_be_damaged_one_by_one():
    damage = Damage(Rates(unit="byte", drop=0.01, duplicate=0.01), random.Random(2))
    got = delivered(damage, STREAM * 10)
    counts = damage.report()
    assert counts["bytes"] == len(STREAM) * 10
    assert len(got) == len(STREAM) * 10 - counts["drop"] + counts["duplicate"]


def test_both_directions_get_their_own_numbers_from_one_seed():
    to_board, to_gateway = pair(Rates.damaged(0.3), 9)
    assert delivered(to_board, STREAM) != delivered(to_gateway, STREAM)


@pytest.mark.parametrize("settings, error", [
    ({"drop": 1.5}, "--drop 1.5: a rate must be from 0 to 1"),
    ({"drop": 0.6, "flip": 0.6}, "the rates add up to 1.2; at most 1"),
    ({"unit": "byte", "reorder": 0.1}, "--reorder: only with --unit frame"),
    ({"unit": "word"}, "--unit 'word': must be frame or byte"),
    ({"delay_ms": -1}, "--delay-ms -1: must be 0 or more"),
])
def test_settings_that_cannot_work_are_refused_with_the_rule(settings, error):
    with pytest.raises(FaultError, match=error.replace("(", r"\(").replace(")", r"\)")
                       .replace(".", r"\.")):
        Rates(**settings)
