"""Runs before main.py at power-up: on CircuitPython, turn on the USB data port for the link and
let the board's code write its flash."""

try:
    import usb_cdc
except ImportError:  # MicroPython: the link uses the REPL's USB serial or a UART
    usb_cdc = None

if usb_cdc is not None:
    usb_cdc.enable(console=True, data=True)
    # the board keeps its actors on flash, which CircuitPython lets code write only when
    # boot.py says so; the computer then sees the CIRCUITPY drive read-only
    import storage

    storage.remount("/", readonly=False)
