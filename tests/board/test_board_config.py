"""The board's config.json: a good one loads, every broken field is named."""

from __future__ import annotations

import json

import pytest

from edgecli.profiles import PROFILES_DIR
from edgehost.config import BoardConfig, ConfigError, load_config

PROFILES = str(PROFILES_DIR)
GOOD = {
    "board_id": "bench-1",
    "pairing_key": "11" * 32,
    "profile": "esp32-s3-devkitc-n8r8",
    "transport": {"kind": "uart", "uart": 1, "tx": 17, "rx": 16, "baud": 921600},
    "limits": {"max_pages_per_actor": 4, "max_frame": 2048},
}


def test_good_config_loads_with_defaults_filled_in(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(GOOD))
    cfg = load_config(str(path), PROFILES)
    assert cfg.board_id == "bench-1"
    assert cfg.pairing_key == b"\x11" * 32
    # what the config lowers, lowered; the rest as the profile has it
    assert cfg.limits["max_pages_per_actor"] == 4 and cfg.limits["max_frame"] == 2048
    assert cfg.limits["max_actors"] == 8 and cfg.limits["actor_ram_bytes"] == 6 * 1024 * 1024
    assert cfg.transport["baud"] == 921600


@pytest.mark.parametrize(
    "change, message",
    [
        ({"board_id": ""}, "board_id must be a non-empty str"),
        ({"board_id": "x" * 65}, "board_id must be a string of 1 to 64 bytes"),
        ({"pairing_key": "abc"}, "pairing_key must be 64 hex digits"),
        ({"pairing_key": "zz" * 32}, "pairing_key must be 64 hex digits"),
        ({"transport": {"kind": "carrier-pigeon"}}, "transport.kind must be one of"),
        ({"transport": {"kind": "uart", "tx": 1}}, "transport: rx is missing"),
        ({"transport": {"kind": "uart", "tx": 1, "rx": 2, "baud": "fast"}}, "baud must be a"),
        ({"transport": {"kind": "wifi", "ssid": "lab"}}, "gateway_host is missing"),
        ({"limits": {"max_frame": 16}}, "max_frame must be at least 64"),
        ({"limits": {"max_fram": 2048}}, "limits.max_fram is not a known limit"),
        ({"limits": {"max_actors": -1}}, "max_actors must be an integer of at least 1, got -1"),
        ({"limits": {"max_actors": 9}}, "limits.max_actors 9 is above the 8 of profile "
                                        "esp32-s3-devkitc-n8r8; a config may only lower"),
        ({"profile": "esp32-s4"}, "profile esp32-s4: not found in .* \\(known: "
                                  "esp32-c3-devkitm-1, esp32-devkitc, esp32-s3-devkitc-n8r8, "
                                  "esp32-wrover-e\\)"),
        ({"profile": "../secrets"}, "profile '../secrets': not a profile name"),
    ],
)
def test_each_broken_field_is_named(change, message):
    data = dict(GOOD)
    data.update(change)
    with pytest.raises(ConfigError, match=message):
        BoardConfig(data, "config.json", PROFILES)


@pytest.mark.parametrize("name", ["esp32-s3-devkitc-n8r8", "esp32-wrover-e",
                                  "esp32-c3-devkitm-1", "esp32-devkitc"])
def test_every_profile_loads_and_no_psram_means_small_actors(name):
    cfg = BoardConfig(dict(GOOD, profile=name, limits={}), "config.json", PROFILES)
    assert cfg.profile == name
    has_psram = name in ("esp32-s3-devkitc-n8r8", "esp32-wrover-e")
    assert (cfg.limits["max_pages_per_actor"] >= 17) == has_psram


def test_a_broken_profile_file_is_named_with_its_field(tmp_path):
    (tmp_path / "odd.json").write_text(json.dumps({"name": "odd", "chip": "esp32",
                                                   "flash_bytes": 1, "psram_bytes": 0,
                                                   "limits": {"max_actors": 1}}))
    with pytest.raises(ConfigError, match="profile odd limits: limits.actor_ram_bytes is "
                                          "missing"):
        BoardConfig(dict(GOOD, profile="odd", limits={}), "config.json", str(tmp_path))
    (tmp_path / "odd.json").write_text("{")
    with pytest.raises(ConfigError, match="odd.json is not valid JSON"):
        BoardConfig(dict(GOOD, profile="odd", limits={}), "config.json", str(tmp_path))


def test_missing_and_unparsable_files_are_reported(tmp_path):
    with pytest.raises(ConfigError, match="not found; provision the board"):
        load_config(str(tmp_path / "config.json"), PROFILES)
    (tmp_path / "config.json").write_text("{board_id: 1")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(str(tmp_path / "config.json"), PROFILES)


@pytest.mark.micropython
def test_config_checks_run_on_the_board_interpreters(board_python):
    out = board_python(
        "from edgehost.config import BoardConfig, ConfigError\n"
        f"good = {GOOD!r}\n"
        f"print(BoardConfig(good, 'config.json', {PROFILES!r}).limits['max_frame'])\n"
        "bad = dict(good); bad['transport'] = {'kind': 'uart', 'tx': 1, 'rx': 2, 'baud': True}\n"
        "high = dict(good); high['limits'] = {'window': 99}\n"
        "for data in (bad, high):\n"
        "    try:\n"
        f"        BoardConfig(data, 'config.json', {PROFILES!r})\n"
        "    except ConfigError as e:\n"
        "        print(e)\n"
    )
    assert out.splitlines() == [
        "2048",
        "config.json transport: baud must be a positive integer, got True",
        "config.json: limits.window 99 is above the 8 of profile esp32-s3-devkitc-n8r8; a "
        "config may only lower its profile's limits",
    ]


@pytest.mark.micropython
def test_port_layer_runs_on_the_board_interpreters(board_python, tmp_path):
    out = board_python(
        "from edgehost import port\n"
        "t0 = port.ticks_ms(); port.sleep_ms(5)\n"
        "print(port.ticks_diff(port.ticks_ms(), t0) >= 5)\n"
        "print(port.free_memory() > 0, port.free_flash('.') > 0, len(port.random_bytes(16)))\n"
        f"port.makedirs({str(tmp_path / 'a/b/c')!r})\n"
        f"print(port.exists({str(tmp_path / 'a/b/c')!r}), port.IMPLEMENTATION)\n"
        "w = port.Watchdog(5000); w.feed(); print(w.feeds)\n"
    )
    assert out.splitlines() == ["True", "True True 16", "True " + board_python.name, "1"]
