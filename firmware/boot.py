"""Runs before main.py at power-up: on CircuitPython, turn on the USB data port for the link."""

try:
    import usb_cdc
except ImportError:  # MicroPython: the link uses the REPL's USB serial or a UART
    usb_cdc = None

if usb_cdc is not None:
    usb_cdc.enable(console=True, data=True)
