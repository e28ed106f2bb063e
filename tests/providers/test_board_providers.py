"""The board's own hardware as providers on the lattice: a caller elsewhere, signing a proper
invocation as an actor, turns the simulated board's LED on; links, claims and signatures are
checked first; the board's actors reach their own board's contracts directly."""

from __future__ import annotations

import msgpack
import nats
import pytest
from support.controlrig import EventLog, ctl_request
from support.keys import BOARD_ID, PAIRING_KEY
from support.latticerig import start_gateway, wait_for, write_registry
from support.responses import read_response
from support.signing import SignedActor
from support.sims import BoardInThread

from edgegate.jetstream.entries import claims_record
from edgegate.providers.board import derived_key
from edgegate.rpc import antiforgery
from edgegate.rpc.invocation import Entity, Invocation, InvocationResponse
from edgegate.vhost.install import install_on_board
from edgegate.wascap import KeyPair, Token

pytestmark = pytest.mark.nats

SENSORLED = "edgehost:sensorled"
GPIO = "edgehost:gpio"
LED_PIN = 2  # the default profile's


@pytest.fixture
async def lattice(nats_server, tmp_path, cluster_env, actors):
    board = BoardInThread(tmp_path / "flash")
    registry = write_registry(tmp_path / "boards.json", {
        "board_id": BOARD_ID, "pairing_key": PAIRING_KEY.hex(),
        "tcp": board.url.removeprefix("tcp://")})
    gateway = await start_gateway(registry, nats_server.url, cluster_env)
    nc = await nats.connect(nats_server.url)
    events = await EventLog().start(nc)
    try:
        await wait_for(lambda: BOARD_ID in gateway.hosts and gateway.hosts[BOARD_ID].ready,
                       what="the board served")
        yield Lattice(nc, gateway, board, events,
                      KeyPair.from_seed(cluster_env["WASMCLOUD_CLUSTER_SEED"]))
    finally:
        await nc.close()
        await gateway.stop()
        board.stop()


class Lattice:
    def __init__(self, nc, gateway, board, events, cluster):
        self.nc, self.gateway, self.board, self.events, self.cluster = (
            nc, gateway, board, events, cluster)
        self.host = gateway.hosts[BOARD_ID]

    def provider(self, contract: str) -> str:
        return derived_key("provider", self.cluster, BOARD_ID, contract).public_key

    async def actor_elsewhere(self, actors, caps: list[str]) -> str:
        """An actor of another host: its claims on the lattice, as that host publishes them."""
        actor = SignedActor(actors["echo"], "lamp switch", caps=caps)
        await self.gateway.lattice.metadata.put_claims(claims_record(Token(actor.token).claims))
        await wait_for(lambda: actor.key in self.gateway.lattice.metadata.claims,
                       what="the claims seen")
        return actor.key

    async def link(self, actor: str, contract: str) -> None:
        ack = await ctl_request(self.nc, "linkdefs.put", {
            "actor_id": actor, "provider_id": self.provider(contract), "contract_id": contract,
            "link_name": "default", "values": {}})
        assert ack["accepted"], ack
        await wait_for(lambda: self.gateway.lattice.metadata.find_link(
            actor, contract, "default") is not None, what="the link seen")

    async def invoke(self, actor: str, contract: str, operation: str, args=None,
                     signer: KeyPair | None = None) -> InvocationResponse:
        """What a host of the lattice sends for its actor's host call."""
        target = Entity(self.provider(contract), "default", contract)
        inv = Invocation(Entity.actor(actor), target, operation,
                         b"" if args is None else msgpack.packb(args),
                         host_id=self.cluster.public_key)
        antiforgery.sign(inv, signer or self.cluster)
        reply = await self.nc.request(f"wasmbus.rpc.default.{target.public_key}.default",
                                      inv.pack(), timeout=10)
        return read_response(reply.data)


async def test_an_actor_on_another_host_turns_the_board_s_led_on(lattice, actors):
    actor = await lattice.actor_elsewhere(actors, [SENSORLED])
    await lattice.link(actor, SENSORLED)
    assert lattice.board.board.hardware.bank.read(LED_PIN) is False
    answer = await lattice.invoke(actor, SENSORLED, "SensorLed.SetLed", {"on": True})
    assert answer.error is None, answer.error
    assert msgpack.unpackb(answer.msg) is True
    assert lattice.board.board.hardware.bank.read(LED_PIN) is True  # the simulated pin
    off = await lattice.invoke(actor, SENSORLED, "SensorLed.SetLed", {"on": False})
    assert off.error is None and lattice.board.board.hardware.bank.read(LED_PIN) is False


async def test_the_sensor_and_gpio_answer_through_the_lattice(lattice, actors):
    actor = await lattice.actor_elsewhere(actors, [SENSORLED, GPIO])
    await lattice.link(actor, SENSORLED)
    await lattice.link(actor, GPIO)
    bank = lattice.board.board.hardware.bank
    bank.analog_values[1] = 2048  # the default profile's sensor pin
    read = await lattice.invoke(actor, SENSORLED, "SensorLed.ReadSensor")
    assert msgpack.unpackb(read.msg) == {"value": 2048, "unit": "raw"}
    wrote = await lattice.invoke(actor, GPIO, "Gpio.Write", {"pin": 4, "value": True})
    assert wrote.error is None and bank.read(4) is True
    got = await lattice.invoke(actor, GPIO, "Gpio.Read", {"pin": 4})
    assert msgpack.unpackb(got.msg) is True
    closed = await lattice.invoke(actor, GPIO, "Gpio.Write", {"pin": 17, "value": True})
    assert "pin 17 is not one this board's profile opens to actors" in closed.error
    assert bank.read(17) is False


async def test_the_board_s_providers_are_on_the_lattice(lattice):
    inv = await ctl_request(lattice.nc, f"get.{lattice.host.id}.inv")
    providers = {p["contract_id"]: p for p in inv["providers"]}
    assert set(providers) == {SENSORLED, GPIO}
    assert providers[SENSORLED]["id"] == lattice.provider(SENSORLED)
    claims = (await ctl_request(lattice.nc, "get.claims"))["claims"]
    [mine] = [c for c in claims if c["sub"] == lattice.provider(SENSORLED)]
    assert mine["contract_id"] == SENSORLED
    # signed by the gateway's account key, the same for every board of this cluster
    assert mine["iss"] == derived_key("account", lattice.cluster).public_key
    health = await lattice.nc.request(
        f"wasmbus.rpc.default.{lattice.provider(GPIO)}.default.health",
        msgpack.packb({"placeholder": True}), timeout=5)
    assert msgpack.unpackb(health.data) == {"healthy": True, "message": ""}


@pytest.mark.parametrize("caps, linked, signer, words", [
    ([SENSORLED], False, None, "is not linked to provider"),
    ([GPIO], True, None, f"does not hold capability {SENSORLED}"),
    ([SENSORLED], True, KeyPair.generate("cluster"), "Anti-forgery check failed"),
])
async def test_a_call_the_board_must_not_serve_leaves_the_led_off(lattice, actors, caps,
                                                                  linked, signer, words):
    actor = await lattice.actor_elsewhere(actors, caps)
    if linked:
        await lattice.link(actor, SENSORLED)
    answer = await lattice.invoke(actor, SENSORLED, "SensorLed.SetLed", {"on": True},
                                  signer=signer)
    assert words in answer.error
    assert lattice.board.board.hardware.bank.read(LED_PIN) is False


async def call_board_actor(lattice, actor: str, operation: str, payload: bytes
                           ) -> InvocationResponse:
    inv = Invocation(Entity.actor("M" + "T" * 55), Entity.actor(actor), operation, payload,
                     host_id=lattice.cluster.public_key)
    antiforgery.sign(inv, lattice.cluster)
    reply = await lattice.nc.request(f"wasmbus.rpc.default.{actor}", inv.pack(), timeout=10)
    return read_response(reply.data)


async def test_the_lamp_demo_actor_switches_its_board_s_led_and_reads_its_sensor(lattice,
                                                                                   actors):
    lamp = SignedActor(actors["lamp"], "lamp", caps=[SENSORLED], call_alias="lamp")
    await install_on_board(lattice.host, lamp.module)
    bank = lattice.board.board.hardware.bank
    on = await call_board_actor(lattice, lamp.key, "Switch", b"on")
    assert (on.error, on.msg) == (None, b"LED on")
    assert bank.read(LED_PIN) is True
    assert any("pin 2 is now high (simulated)" in line for line in lattice.board.console)
    bank.analog_values[1] = 40961
    sensed = await call_board_actor(lattice, lamp.key, "Sense", b"")
    assert (sensed.error, sensed.msg) == (None, b"sensor 40961")
    off = await call_board_actor(lattice, lamp.key, "Switch", b"off")
    assert off.msg == b"LED off" and bank.read(LED_PIN) is False
    odd = await call_board_actor(lattice, lamp.key, "Switch", b"dim")
    assert "Switch takes on or off" in odd.error


async def test_a_lamp_without_the_capability_cannot_touch_the_led(lattice, actors):
    lamp = SignedActor(actors["lamp"], "lamp", caps=[])
    await install_on_board(lattice.host, lamp.module)
    refused = await call_board_actor(lattice, lamp.key, "Switch", b"on")
    assert "lack that capability" in refused.error
    assert lattice.board.board.hardware.bank.read(LED_PIN) is False
