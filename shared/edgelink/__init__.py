"""The board-gateway link: frames, authenticated session, messages and chunked transfers.

Runs unchanged on MicroPython, CircuitPython and CPython.
"""
