"""Stand-in for CircuitPython's digitalio (shared-bindings/digitalio) on stand-in pins."""


class Direction:
    INPUT = "INPUT"
    OUTPUT = "OUTPUT"


class Pull:
    UP = "UP"
    DOWN = "DOWN"


class DriveMode:
    PUSH_PULL = "PUSH_PULL"
    OPEN_DRAIN = "OPEN_DRAIN"


class DigitalInOut:
    """shared-bindings/digitalio/DigitalInOut.c: an input until switched; a pin holds one."""

    def __init__(self, pin):
        if pin.in_use:
            raise ValueError("%r in use" % pin)
        pin.in_use = True
        self._pin = pin
        self.direction = Direction.INPUT
        self.pull = None
        self.drive_mode = DriveMode.PUSH_PULL

    def deinit(self):
        if self._pin is not None:
            self._pin.in_use = False
            self._pin = None

    def switch_to_output(self, value=False, drive_mode=DriveMode.PUSH_PULL):
        self.direction = Direction.OUTPUT
        self.drive_mode = drive_mode
        self.value = value

    def switch_to_input(self, pull=None):
        self.direction = Direction.INPUT
        self.pull = pull

    @property
    def value(self):
        return self._live().level

    @value.setter
    def value(self, value):
        if self.direction != Direction.OUTPUT:
            raise AttributeError("Cannot set value when direction is input.")
        self._live().level = bool(value)

    def _live(self):
        if self._pin is None:
            raise ValueError("Object has been deinitialized and can no longer be used.")
        return self._pin
