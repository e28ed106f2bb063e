"""Run under the board's MicroPython by actor_heap.py: the heap one actor takes through
WapcHost, its module mapped (wasm3.map_file) or read into RAM.

    micropython mp_actor_heap.py PATH mapped|ram OPERATION PAYLOAD_HEX

Prints `module=<bytes> instance=<bytes> call=<bytes>`: heap held (gc.mem_alloc, collected)
after the module is mapped or read, after instantiation, and after a first call, each counted
from the same start.
"""

import gc
import sys
from binascii import unhexlify

import wasm3

from edgehost.wapc import Limits, WapcHost


def held(start):
    gc.collect()
    return gc.mem_alloc() - start


def main(path, how, operation, payload):
    gc.collect()
    start = gc.mem_alloc()
    if how == "mapped":
        module = wasm3.map_file(path)
    else:
        with open(path, "rb") as stream:
            module = stream.read()
    after_module = held(start)
    host = WapcHost("measured", module, limits=Limits(memory_pages=64))
    after_instance = held(start)
    host.call(operation, payload)
    after_call = held(start)
    print("module=%d instance=%d call=%d" % (after_module, after_instance, after_call))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], unhexlify(sys.argv[4]))
