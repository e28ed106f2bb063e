"""Stand-in for CircuitPython's busio (shared-bindings/busio): UART only, on the wire of
_wire.py whichever pins it is given."""

from _wire import Wire


class UART:
    """shared-bindings/busio/UART.c."""

    def __init__(self, tx=None, rx=None, *, baudrate=9600, bits=8, parity=None, stop=1,
                 timeout=1, receiver_buffer_size=64, rts=None, cts=None, rs485_dir=None,
                 rs485_invert=False):
        for pin in (tx, rx):
            if pin is not None:
                if pin.in_use:
                    raise ValueError("%r in use" % pin)
                pin.in_use = True
        self._pins = (tx, rx)
        self.baudrate = baudrate
        self.timeout = timeout
        self._wire = Wire()

    def deinit(self):
        for pin in self._pins:
            if pin is not None:
                pin.in_use = False
        self._wire.close()

    @property
    def in_waiting(self):
        return self._wire.in_waiting()

    def read(self, nbytes=None):
        return self._wire.read(nbytes)

    def readinto(self, buf):
        return self._wire.readinto(buf)

    def write(self, buf):
        return self._wire.write(buf)

    def reset_input_buffer(self):
        self._wire.reset_input_buffer()
