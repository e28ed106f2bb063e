"""Real-sized wasmCloud actors side by side: Rust-shaped actors of 17 pages and 0.1-2 MB on the
profiles that should take them, and a board filled to what the fit model allows, in random
orders of install, swap and remove, answering every actor it accepted."""

from __future__ import annotations

import random
from typing import Any

import pytest
from support.gateway import WAIT, connect_tcp
from support.keys import write_key_file
from support.signing import SignedActor

from edgegate.devices.simprocess import SimProcess
from edgegate.wascap.modules import custom_section
from edgelink.mpack import packb, unpackb
from edgemodule.fit import Budget, Needs, refusal
from edgemodule.wasminspect import inspect_bytes

pytestmark = pytest.mark.micropython

BIG_WAIT = 90.0  # a 1.8 MB install: hashed and checked in the board's Python, twice over
CODE_CALL = packb({"fn": 5, "x": 7})
GREET = packb({"name": "edge"})


@pytest.fixture
def start_sim(tmp_path):
    """start(runtime, *args): `edgehost sim` on TCP, on CPython or the board's MicroPython."""
    started: list[SimProcess] = []

    def start(runtime: str, *args: str) -> SimProcess:
        line = ["--micropython"] if runtime == "micropython" else []
        sim = SimProcess([*line, "--tcp", "127.0.0.1:0", "--key-file",
                          str(write_key_file(tmp_path / "k")), *args],
                         tmp_path / f"sim{len(started)}.err", WAIT)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


def rust_shaped(actors) -> dict[str, bytes]:
    """Rust-shaped actors, 17 pages each: code-heavy ones of 0.13, 0.52 and 1.8 MB, and
    rust_greeter grown to 1 MB by a custom section."""
    return {"small": actors["rust_code_small"], "mid": actors["rust_code_mid"],
            "large": actors["rust_code_large"],
            "padded": actors["rust_greeter"] + custom_section("padding", bytes(1024 * 1024))}


def first_call(module: bytes) -> tuple[str, bytes]:
    return ("Code.Run", CODE_CALL) if b"Code.Run" in module else ("Greeter.Greet", GREET)


async def install(gw, actor: SignedActor, t: str = "install") -> dict[str, Any]:
    return await gw.device.request(actor.install(t=t), actor.module, timeout=BIG_WAIT)


async def answers(gw, actor: SignedActor) -> None:
    op, payload = first_call(actor.module)
    reply = await gw.request({"t": "invoke", "actor": actor.key, "op": op, "origin": ""},
                             payload)
    assert reply["t"] == "invoke_result", (actor.key, reply)
    assert unpackb(reply["body"]), reply


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
async def test_four_rust_shaped_actors_of_17_pages_answer_at_once_on_the_default_profile(
        start_sim, actors, runtime, sim_micropython):
    sim = start_sim(runtime)
    gw = await connect_tcp(sim.where)
    try:
        held = [SignedActor(module, name) for name, module in rust_shaped(actors).items()]
        for actor in held:
            reply = await install(gw, actor)
            assert reply["t"] == "installed", reply
        for actor in held:
            await answers(gw, actor)
        assert reply["budget"]["slots_free"] == 4  # of the profile's 8
    finally:
        await gw.close()


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
async def test_a_18_mb_actor_of_17_pages_installs_and_answers_on_esp32_wrover_e(
        start_sim, actors, runtime, sim_micropython):
    large = SignedActor(actors["rust_code_large"], "large")
    assert len(large.module) > 1_800_000
    sim = start_sim(runtime, "--profile", "esp32-wrover-e")
    gw = await connect_tcp(sim.where)
    try:
        reply = await install(gw, large)
        assert reply["t"] == "installed", reply
        await answers(gw, large)
    finally:
        await gw.close()


def verdict(module: bytes, budget: dict[str, Any], new_slot: bool = True):
    """The model's verdict on `module` for a board that reported `budget`."""
    refused = refusal(Needs(inspect_bytes(module), len(module)), Budget.from_report(budget),
                      new_slot)
    return None if refused is None else refused[0]


async def fill_in_random_order(gw, pool: dict[str, bytes], rng: random.Random) -> list[str]:
    """Install actors of the pool in random order until the model refuses one, from the budget
    the board reports. Returns the names taken, in order, and last what went wrong: an
    install the model accepted that failed, or an actor that did not answer after one."""
    held: list[tuple[str, SignedActor]] = []
    budget = gw.hello["budget"]
    while True:
        name = rng.choice(sorted(pool))
        actor = SignedActor(pool[name], name)
        expected = verdict(actor.module, budget)
        reply = await install(gw, actor)
        if expected is not None:  # the store may refuse its flash first, before the fit
            assert reply["t"] == "error" and ": flash: " in reply["message"] or (
                f": {expected}: " in reply["message"]), reply
            return [taken for taken, _ in held]
        if reply["t"] != "installed":
            return [taken for taken, _ in held] + [f"{name}: {reply.get('message')}"]
        held.append((name, actor))
        budget = reply["budget"]
        for _, each in held:
            await answers(gw, each)


async def test_a_board_filled_to_what_the_model_allows_answers_every_actor_it_accepted(
        start_sim, actors, sim_micropython, tmp_path):
    pool = rust_shaped(actors)
    fills = []
    for seed in range(4):  # each on a new board: its own flash, nothing restored
        sim = start_sim("micropython", "--flash-dir", str(tmp_path / f"flash{seed}"))
        gw = await connect_tcp(sim.where)
        try:
            fills.append(await fill_in_random_order(gw, pool, random.Random(seed)))
        finally:
            await gw.close()
            sim.stop()
    assert not [fill for fill in fills if ":" in fill[-1]], fills
    assert max(len(fill) for fill in fills) >= 4, fills  # the board filled up, not refused early
