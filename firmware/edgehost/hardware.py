"""The board's own hardware as capability contracts, served on the board itself.

`edgehost:gpio` reads and writes the pins the profile allows; `edgehost:sensorled` is the
demo's contract: read the sensor, switch the LED, each on the pin the profile maps. Actors on
the board call them as they call the builtins (their claims must hold the contract); actors
elsewhere on the lattice reach them through the gateway, which checks links, claims and the
invocation's signature before it passes the call on as an `invoke` of the contract.

Operations (msgpack in and out):
  Gpio.Read {pin} -> bool            Gpio.Write {pin, value: bool} -> nothing
  SensorLed.ReadSensor -> {value, unit}   SensorLed.SetLed {on: bool} -> bool (the LED now)
"""

from edgehost.builtins import BuiltinError, map_arg
from edgelink import mpack

GPIO = "edgehost:gpio"
SENSORLED = "edgehost:sensorled"
CONTRACTS = (GPIO, SENSORLED)


class MachinePins:
    """Pins through MicroPython's `machine` module."""

    def __init__(self, machine):
        self._machine = machine
        self._outputs = {}

    def write(self, pin, value):
        out = self._outputs.get(pin)
        if out is None:
            out = self._outputs[pin] = self._machine.Pin(pin, self._machine.Pin.OUT)
        out.value(1 if value else 0)

    def read(self, pin):
        out = self._outputs.get(pin)
        if out is not None:  # reading an output as an input would switch it off
            return out.value() == 1
        return self._machine.Pin(pin, self._machine.Pin.IN).value() == 1

    def analog(self, pin):
        return self._machine.ADC(self._machine.Pin(pin)).read_u16()


class CircuitPins:
    """Pins through CircuitPython's digitalio and analogio (by the chip's GPIO numbers)."""

    def __init__(self, digitalio, analogio, microcontroller):
        self._digitalio = digitalio
        self._analogio = analogio
        self._pins = microcontroller.pin
        self._outputs = {}

    def _pin(self, pin):
        found = getattr(self._pins, "GPIO%d" % pin, None)
        if found is None:
            raise BuiltinError("this chip has no GPIO%d" % pin)
        return found

    def write(self, pin, value):
        out = self._outputs.get(pin)
        if out is None:
            out = self._outputs[pin] = self._digitalio.DigitalInOut(self._pin(pin))
            out.switch_to_output()
        out.value = bool(value)

    def read(self, pin):
        out = self._outputs.get(pin)
        if out is not None:
            return bool(out.value)
        probe = self._digitalio.DigitalInOut(self._pin(pin))
        try:
            return bool(probe.value)
        finally:
            probe.deinit()

    def analog(self, pin):
        probe = self._analogio.AnalogIn(self._pin(pin))
        try:
            return probe.value
        finally:
            probe.deinit()


class SimulatedPins:
    """The simulator's pin bank: levels a test (or `on_change`) can see, analog values it sets."""

    def __init__(self, on_change=None):
        self.levels = {}
        self.analog_values = {}
        self.on_change = on_change

    def write(self, pin, value):
        value = bool(value)
        changed = self.levels.get(pin, False) != value
        self.levels[pin] = value
        if changed and self.on_change is not None:
            self.on_change(pin, value)

    def read(self, pin):
        return self.levels.get(pin, False)

    def analog(self, pin):
        return self.analog_values.get(pin, 0)


def pin_bank(on_change=None):
    """The real pins where there are some, else the simulated bank (CPython)."""
    try:
        import machine

        if hasattr(machine, "Pin"):  # the unix port has a machine module without pins
            return MachinePins(machine)
    except ImportError:
        pass
    try:
        import analogio
        import digitalio
        import microcontroller

        return CircuitPins(digitalio, analogio, microcontroller)
    except ImportError:
        return SimulatedPins(on_change)


class Hardware:
    """Serves the board's contracts on the pins `pins` maps: `{"led": n, "sensor": n,
    "gpio": [n, …]}` (from the profile; a missing entry makes its operations refuse)."""

    def __init__(self, pins, bank, log=None):
        self.pins = pins or {}
        self.bank = bank
        self._log = log

    def serves(self, namespace):
        return namespace in CONTRACTS

    def call(self, namespace, operation, payload):
        """One call; BuiltinError with the reason the caller reads when it is refused."""
        if namespace == GPIO:
            if operation == "Gpio.Read":
                return mpack.packb(self.bank.read(self._gpio(payload, operation)))
            if operation == "Gpio.Write":
                args = map_arg(payload, operation, (("pin", int), ("value", bool)))
                self.bank.write(self._allowed(args["pin"], operation), args["value"])
                return b""
        elif namespace == SENSORLED:
            if operation == "SensorLed.ReadSensor":
                return mpack.packb({"value": self.bank.analog(self._mapped("sensor")),
                                    "unit": "raw"})
            if operation == "SensorLed.SetLed":
                on = map_arg(payload, operation, (("on", bool),))["on"]
                self.bank.write(self._mapped("led"), on)
                if self._log is not None:
                    self._log("info", "LED %s (pin %d)" % ("on" if on else "off",
                                                           self.pins["led"]))
                return mpack.packb(on)
        raise BuiltinError("%s has no operation %s" % (namespace, operation))

    def _gpio(self, payload, operation):
        return self._allowed(map_arg(payload, operation, (("pin", int),))["pin"], operation)

    def _allowed(self, pin, operation):
        allowed = self.pins.get("gpio") or []
        if pin not in allowed:
            raise BuiltinError("%s: pin %d is not one this board's profile opens to actors "
                               "(gpio: %s)" % (operation, pin,
                                               ", ".join(str(p) for p in allowed) or "none"))
        return pin

    def _mapped(self, role):
        pin = self.pins.get(role)
        if pin is None:
            raise BuiltinError("%s: this board's profile maps no %s pin" % (SENSORLED, role))
        return pin
