"""A CircuitPython board has no socket module (its network is socketpool over wifi)."""

raise ImportError("no module named 'socket'")
