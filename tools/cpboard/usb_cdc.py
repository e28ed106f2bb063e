"""Stand-in for CircuitPython's usb_cdc (shared-bindings/usb_cdc): `console` and `data`,
`data` on only after `enable(data=True)` (which a board's boot.py calls), on the wire of
_wire.py."""

from _wire import Wire


class Serial:
    """shared-bindings/usb_cdc/Serial.c: the byte stream of one CDC interface."""

    def __init__(self):
        self._wire = Wire()
        self.timeout = None
        self.write_timeout = None
        self.connected = True

    @property
    def in_waiting(self):
        return self._wire.in_waiting()

    @property
    def out_waiting(self):
        return 0

    def read(self, size=-1):
        return self._wire.read(size) or b""

    def readinto(self, buf):
        return self._wire.readinto(buf) or 0

    def write(self, buf):
        return self._wire.write(buf)

    def flush(self):
        pass

    def reset_input_buffer(self):
        self._wire.reset_input_buffer()

    def reset_output_buffer(self):
        pass


console = None  # the REPL's: the unix port's stdin/stdout
data = None


def enable(*, console=True, data=False):
    # the argument hides the module's `data`, which this sets
    globals()["data"] = Serial() if data else None
