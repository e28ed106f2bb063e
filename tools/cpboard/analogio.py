"""Stand-in for CircuitPython's analogio (shared-bindings/analogio): AnalogIn only."""


class AnalogIn:
    """shared-bindings/analogio/AnalogIn.c: a 16-bit reading of a stand-in pin."""

    reference_voltage = 3.3

    def __init__(self, pin):
        if pin.in_use:
            raise ValueError("%r in use" % pin)
        pin.in_use = True
        self._pin = pin

    def deinit(self):
        if self._pin is not None:
            self._pin.in_use = False
            self._pin = None

    @property
    def value(self):
        if self._pin is None:
            raise ValueError("Object has been deinitialized and can no longer be used.")
        return self._pin.analog & 0xFFFF
