"""edgemodule.fit: one verdict for a module and a board's budget, the same on both sides."""

from __future__ import annotations

import json

import pytest

from edgecli.profiles import Profile, ProfileError, profile, profile_file
from edgegate.wascap.modules import custom_section
from edgemodule.fit import Budget, Needs, refusal
from edgemodule.wasminspect import inspect_bytes

C3 = profile("esp32-c3-devkitm-1").limits
S3 = profile("esp32-s3-devkitc-n8r8").limits


def needs(module: bytes) -> Needs:
    return Needs(inspect_bytes(module), len(module))


def test_the_checks_come_in_order_and_each_names_its_rule(actors):
    assert refusal(needs(actors["bad_import"]), Budget(S3))[0] == "imports"
    assert refusal(needs(actors["no_guest_call"]), Budget(S3))[0] == "exports"
    assert refusal(needs(actors["rust_greeter"]), Budget(C3))[0] == "memory"
    assert refusal(needs(actors["rust_greeter"]), Budget(S3)) is None
    # RAM: the actors already there count
    echo = needs(actors["echo"])
    rule, reason = refusal(echo, Budget(C3, ram_used=C3["actor_ram_bytes"] - 1024))
    assert rule == "ram" and reason.endswith("the board has 224 KiB for actors, 1 KiB of "
                                             "them free")
    assert refusal(needs(actors["rust_bulky"]),
                   Budget(dict(S3, module_flash_bytes=1024 * 1024)))[0] == "flash"
    full = Budget(C3, actors=C3["max_actors"])
    assert refusal(echo, full) == ("slots", "the board holds 2 actors, its limit")
    assert refusal(echo, full, new_slot=False) is None  # a swap takes no new slot


def test_a_budget_goes_through_a_hello_and_back():
    budget = Budget(S3, ram_used=123456, flash_used=4096, actors=3)
    again = Budget.from_report(budget.report())
    assert again.report() == budget.report()
    with pytest.raises(ValueError, match="not complete"):
        Budget.from_report({"ram": 1})


def test_needs_count_memory_module_and_the_engine(actors):
    bulky = needs(actors["rust_bulky"])
    assert bulky.pages == 50 and bulky.data_bytes > 2 * 1024 * 1024
    assert bulky.ram_bytes == bulky.memory_bytes + len(actors["rust_bulky"]) + bulky.engine_bytes


@pytest.mark.micropython
def test_the_board_gives_the_same_verdict_on_the_board_interpreters(board_python, actors, tmp_path):
    (tmp_path / "greeter.wasm").write_bytes(actors["rust_greeter"])
    limits = dict(C3)
    out = board_python(
        "from edgemodule.fit import Budget, Needs, refusal\n"
        "from edgemodule.wasminspect import inspect_bytes\n"
        "data = open('greeter.wasm', 'rb').read()\n"
        f"print(refusal(Needs(inspect_bytes(data), len(data)), Budget({limits!r})))\n"
    )
    expected = refusal(needs(actors["rust_greeter"]), Budget(C3))
    assert out.strip() == str(expected)


def big_rust_actor(actors) -> bytes:
    """A 1.8 MB, 17-page Rust-shaped actor (the size of wasmCloud's echo and kvcounter)."""
    return actors["rust_greeter"] + custom_section("padding", bytes(1800 * 1024))


def test_a_mapped_module_takes_flash_not_ram(actors):
    big = needs(big_rust_actor(actors))
    wrover = profile("esp32-wrover-e")
    s3 = profile("esp32-s3-devkitc-n8r8")
    # read into RAM the module counts; run in place it does not
    assert refusal(big, Budget(s3.limits, ram_used=4 * 2**20))[0] == "ram"
    assert refusal(big, Budget(s3.limits, ram_used=4 * 2**20, maps=True)) is None
    assert big.ram(True) == big.memory_bytes + big.engine_bytes
    # the module region of the classic ESP32's profile is all the flash it maps for modules
    assert refusal(big, Budget(wrover.limits, maps=wrover.maps_modules)) == (
        "flash", "the module of 1804 KiB is larger than the board's 1768 KiB module region, "
                 "all the flash it maps for modules")


def test_flash_is_counted_in_the_whole_sectors_of_the_module_region(actors):
    echo = needs(actors["echo"])
    room = Budget(dict(S3, module_flash_bytes=8192), flash_used=4096)
    assert echo.module_bytes < 4096 and refusal(echo, room) is None
    full = Budget(dict(S3, module_flash_bytes=8192), flash_used=4097)
    assert refusal(echo, full)[0] == "flash"


def test_each_profile_says_how_much_flash_its_chip_maps():
    for name in ("esp32-devkitc", "esp32-wrover-e", "esp32-c3-devkitm-1",
                 "esp32-s3-devkitc-n8r8"):
        board = profile(name)
        assert board.maps_modules and board.region_bytes() <= board.mappable_flash_bytes
    # the classic ESP32 maps 4 MiB of flash data, the S3 32 MiB of flash and PSRAM together
    assert profile("esp32-devkitc").mappable_flash_bytes < profile(
        "esp32-s3-devkitc-n8r8").mappable_flash_bytes


def test_a_profile_whose_module_region_the_chip_cannot_map_is_refused():
    data = json.loads(profile_file("esp32-devkitc").read_text())
    data["limits"]["module_flash_bytes"] = 3 * 2**20
    with pytest.raises(ProfileError) as caught:
        Profile(data, "profile esp32-devkitc")
    assert str(caught.value) == (
        "profile esp32-devkitc: limits.module_flash_bytes 3145728 needs a module region of "
        "3153920 bytes, more than the 3145728 bytes of flash the chip maps "
        "(mappable_flash_bytes)")
