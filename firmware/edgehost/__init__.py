"""The board's wasmCloud host: actors, the waPC exchange on wasm3, local dispatch, persistence.

Runs unchanged on MicroPython, CircuitPython and CPython (see the board code rules).
"""
