"""The board's own contracts on the board: pins the profile maps, refusals that say why, the
caller's claims checked, and the same code under MicroPython."""

from __future__ import annotations

import msgpack
import pytest

from edgehost.builtins import BuiltinError, Builtins
from edgehost.hardware import GPIO, SENSORLED, Hardware, SimulatedPins

PINS = {"led": 2, "sensor": 1, "gpio": [2, 4]}


@pytest.fixture
def hardware():
    changes = []
    return Hardware(PINS, SimulatedPins(lambda pin, value: changes.append((pin, value)))), changes


def test_set_led_switches_the_mapped_pin_and_says_so(hardware):
    hw, changes = hardware
    assert msgpack.unpackb(hw.call(SENSORLED, "SensorLed.SetLed", msgpack.packb({"on": True})))
    assert hw.bank.read(2) is True and changes == [(2, True)]
    hw.call(SENSORLED, "SensorLed.SetLed", msgpack.packb({"on": True}))
    assert changes == [(2, True)]  # no change, no report


def test_sensor_and_gpio(hardware):
    hw, _ = hardware
    hw.bank.analog_values[1] = 777
    assert msgpack.unpackb(hw.call(SENSORLED, "SensorLed.ReadSensor", b"")) == {
        "value": 777, "unit": "raw"}
    hw.call(GPIO, "Gpio.Write", msgpack.packb({"pin": 4, "value": True}))
    assert msgpack.unpackb(hw.call(GPIO, "Gpio.Read", msgpack.packb({"pin": 4}))) is True


@pytest.mark.parametrize("pins, namespace, operation, args, words", [
    (PINS, GPIO, "Gpio.Write", {"pin": 9, "value": True}, "pin 9 is not one this board's"),
    (PINS, GPIO, "Gpio.Read", {"pin": "4"}, "field pin must be a int"),
    (PINS, GPIO, "Gpio.Toggle", {"pin": 4}, "edgehost:gpio has no operation Gpio.Toggle"),
    (PINS, SENSORLED, "SensorLed.SetLed", {"on": "yes"}, "field on must be a bool"),
    ({}, SENSORLED, "SensorLed.SetLed", {"on": True}, "profile maps no led pin"),
    ({}, SENSORLED, "SensorLed.ReadSensor", None, "profile maps no sensor pin"),
    ({}, GPIO, "Gpio.Read", {"pin": 4}, "(gpio: none)"),
])
def test_refusals_say_why(pins, namespace, operation, args, words):
    hw = Hardware(pins, SimulatedPins())
    payload = b"" if args is None else msgpack.packb(args)
    with pytest.raises(BuiltinError) as refused:
        hw.call(namespace, operation, payload)
    assert words in str(refused.value)
    assert hw.bank.levels == {}


def test_board_actors_need_the_contract_in_their_claims(hardware):
    hw, _ = hardware
    builtins = Builtins(lambda *line: None, hw)
    assert builtins.serves(SENSORLED) and builtins.serves(GPIO)
    with pytest.raises(BuiltinError, match="lack that capability"):
        builtins.call("MACTOR", [GPIO], SENSORLED, "SensorLed.SetLed",
                      msgpack.packb({"on": True}))
    assert hw.bank.read(2) is False
    builtins.call("MACTOR", [SENSORLED], SENSORLED, "SensorLed.SetLed",
                  msgpack.packb({"on": True}))
    assert hw.bank.read(2) is True


@pytest.mark.micropython
def test_hardware_runs_on_the_board_interpreters(board_python):
    out = board_python(
        "from edgehost.hardware import Hardware, SENSORLED, GPIO, pin_bank\n"
        "from edgelink import mpack\n"
        "bank = pin_bank(lambda p, v: print('pin', p, v))\n"
        "print(type(bank).__name__)\n"
        "hw = Hardware({'led': 2, 'gpio': [4]}, bank)\n"
        "hw.call(SENSORLED, 'SensorLed.SetLed', mpack.packb({'on': True}))\n"
        "hw.call(GPIO, 'Gpio.Write', mpack.packb({'pin': 4, 'value': True}))\n"
        "print(mpack.unpackb(hw.call(GPIO, 'Gpio.Read', mpack.packb({'pin': 4}))))\n"
        "try:\n"
        "    import microcontroller\n"
        "    print('levels', microcontroller.pin.GPIO2.level, microcontroller.pin.GPIO4.level)\n"
        "except ImportError:\n"
        "    pass\n"
    )
    expected = {
        # MicroPython's unix port has no pins: the simulated bank stands in
        "micropython": ["SimulatedPins", "pin 2 True", "pin 4 True", "True"],
        # CircuitPython's digitalio, here on the stand-ins' pins (tools/cpboard)
        "circuitpython": ["CircuitPins", "True", "levels True True"],
    }
    assert out.splitlines() == expected[board_python.name]


@pytest.mark.parametrize("pins, words", [
    ([2], "must be an object"),
    ({"buzzer": 3}, "buzzer is not a known pin role"),
    ({"led": "2"}, "led must be pin numbers 0-255, got '2'"),
    ({"gpio": [4, 300]}, "gpio must be pin numbers 0-255"),
    ({"gpio": 4}, "gpio is not a known pin role (led, sensor, gpio: a list)"),
])
def test_a_profile_s_bad_pins_are_named(pins, words):
    from edgeprofile import Profile, ProfileError
    data = {"name": "odd", "chip": "esp32", "flash_bytes": 1, "psram_bytes": 0, "pins": pins,
            "limits": {name: 1024 for name in (
                "actor_ram_bytes", "max_pages_per_actor", "max_actors", "module_flash_bytes",
                "max_frame", "window", "max_payload", "call_deadline_ms")}}
    with pytest.raises(ProfileError) as refused:
        Profile(data, "profile odd")
    assert f"profile odd pins: {words}" in str(refused.value)


def test_every_profile_maps_its_led_sensor_and_gpio():
    from edgecli.profiles import PROFILES_DIR
    from edgeprofile import load_profile, profile_names
    for name in profile_names(str(PROFILES_DIR)):
        pins = load_profile(name, str(PROFILES_DIR)).pins
        assert set(pins) == {"led", "sensor", "gpio"} and pins["led"] in pins["gpio"], name
