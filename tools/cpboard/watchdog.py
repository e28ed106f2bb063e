"""Stand-in for CircuitPython's watchdog (shared-bindings/watchdog): the timer records its
feeds; it never fires (no test waits for a reset)."""


class WatchDogMode:
    RAISE = "RAISE"
    RESET = "RESET"


class WatchDogTimeout(Exception):
    pass


class WatchDogTimer:
    """shared-bindings/watchdog/WatchDogTimer.c: microcontroller.watchdog, the only one."""

    def __init__(self):
        self.timeout = 0.0
        self.mode = None
        self.feeds = 0

    def feed(self):
        if self.mode is None:
            raise RuntimeError("WatchDogTimer mode is not set")
        self.feeds += 1

    def deinit(self):
        self.mode = None
