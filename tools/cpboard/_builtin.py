"""The interpreter's own module behind a stand-in of the same name."""

import sys


def builtin(name):
    """Import the built-in module `name`, passing over the stand-in that shadows it on sys.path
    (CircuitPython has no `u`-prefixed names to force a built-in)."""
    shadow = sys.modules.pop(name, None)
    path = list(sys.path)
    sys.path.clear()
    try:
        return __import__(name)
    finally:
        sys.path.extend(path)
        if shadow is not None:
            sys.modules[name] = shadow
