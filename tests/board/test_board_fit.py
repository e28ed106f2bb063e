"""edgemodule.fit: one verdict for a module and a board's budget, the same on both sides."""

from __future__ import annotations

import pytest

from edgecli.profiles import profile
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
