"""Stand-in for CircuitPython's microcontroller (shared-bindings/microcontroller) on an
ESP32-S3: `pin.GPIO0` … `pin.GPIO48`, `watchdog`, `cpu`, `reset()`."""

import watchdog


class Pin:
    """shared-bindings/microcontroller/Pin.c. `level` and `analog` are the stand-in's own: the
    wire's state, which digitalio and analogio read and write."""

    def __init__(self, number):
        self.number = number
        self.level = False
        self.analog = 0
        self.in_use = False

    def __repr__(self):
        return "board.IO%d" % self.number


class _Pins:
    pass


pin = _Pins()
for _n in range(49):
    if not 22 <= _n <= 25:  # the ESP32-S3 has no GPIO22-25
        setattr(pin, "GPIO%d" % _n, Pin(_n))


class Processor:
    """shared-bindings/microcontroller/Processor.c, the values a simulator can give."""

    frequency = 240000000
    temperature = None
    uid = b"cpboard"


cpu = Processor()
watchdog = watchdog.WatchDogTimer()


def reset():
    raise SystemExit("microcontroller.reset()")
