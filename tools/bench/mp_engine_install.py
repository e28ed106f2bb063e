"""Run under the board's MicroPython (or CircuitPython) by micropython_engine.py, with a small
-X heapsize: load the module at PATH from flash as an install does (read, hash, inspect,
instantiate), then call it once. Exits 0 only when all of that fit in the heap.

    micropython -X heapsize=N mp_engine_install.py PATH
"""

import gc
import sys

from edgehost.wapc import WapcHost
from edgelink.hmac256 import sha256


def main(path):
    gc.collect()
    with open(path, "rb") as stream:
        module = stream.read()
    digest = sha256(module).digest()
    host = WapcHost("big", module)
    assert host.call("Echo", b"fits") == b"fits"
    print("ok", len(module), len(digest))


if __name__ == "__main__":
    main(sys.argv[1])
