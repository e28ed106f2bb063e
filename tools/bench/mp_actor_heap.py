"""Run under the board's MicroPython by actor_heap.py: the heap one actor takes through
WapcHost, its module mapped (wasm3.map_file) or read into RAM.

    micropython mp_actor_heap.py PATH mapped|ram OPERATION PAYLOAD_HEX [FUNCTIONS]

Prints `module=<bytes> instance=<bytes> call=<bytes>`: RAM held (gc.mem_alloc, collected, and
the linear memory the wasm3 module keeps off the heap) after the module is mapped or read,
after instantiation, and after a first call, each counted from the same start. With FUNCTIONS
(a rust_code_* actor), Code.Run then runs each of them once, so wasm3 has compiled them all,
and `all=<bytes>` follows.
"""

import gc
import sys
from binascii import unhexlify

import wasm3

from edgehost.wapc import Limits, WapcHost


def ram():
    gc.collect()
    return gc.mem_alloc() + wasm3.linear_memory_used()


def held(start):
    return ram() - start


def main(path, how, operation, payload, functions):
    start = ram()
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
    line = "module=%d instance=%d call=%d" % (after_module, after_instance, after_call)
    if functions:
        for fn in range(functions):
            host.call("Code.Run", b"\x82\xa2fn\xcd" + bytes([fn >> 8, fn & 255]) + b"\xa1x\x07")
        line += " all=%d" % held(start)
    print(line)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], unhexlify(sys.argv[4]),
         int(sys.argv[5]) if len(sys.argv) > 5 else 0)
