"""Run under the board's MicroPython by fill_heap.py: the board's actor table filled to what
the fit model allows, in random orders of install, swap and remove, modules mapped.

    micropython -X heapsize=N mp_fill_heap.py LIMITS_JSON SEED STEPS KINDS MODULE...

KINDS is `install,swap,remove` or a part of it (install is always there).

Each step the model accepts must load and answer a call; one that fails to is printed as
`failed=<step> <kind> <module bytes> free=<bytes> <reason>`. After each step,
micropython.mem_info() (its "max free sz" is the largest free block, in blocks of the heap).
Ends with `low_free=<bytes>` (the least free heap seen after a step, collected),
`accepted=<steps>`, `most=<actors held at once>`.
"""

import gc
import json
import random
import sys

import micropython
import wasm3

from edgehost import actors
from edgehost.actors import ActorRefused, ActorTable
from edgelink.mpack import packb

CALLS = {"Code.Run": packb({"fn": 5, "x": 7}), "Greeter.Greet": packb({"name": "edge"})}


def operation(module):
    return "Code.Run" if b"Code.Run" in module else "Greeter.Greet"


def claims_checked_elsewhere(key, module, token):
    """Stands in for the claims check: the gateway signed these modules (not measured)."""
    return {"sub": key}, token


def main(limits_json, seed, steps, kinds, paths):
    actors.check_claims = claims_checked_elsewhere
    limits = json.loads(limits_json)
    modules = [wasm3.map_file(path) for path in paths]
    table = ActorTable(limits, lambda *a: b"", lambda *a: None, maps=True)
    random.seed(seed)
    rng = random
    held = []
    ops = {}  # actor key -> the operation its module answers
    low_free = 1 << 40
    accepted = most = 0
    for step in range(steps):
        choices = ["install", "install"] + [k for k in kinds if k != "install"] if held else [
            "install"]
        kind = choices[rng.getrandbits(8) % len(choices)]
        if kind == "remove":
            table.remove(held.pop(rng.getrandbits(8) % len(held)))
        else:
            module = modules[rng.getrandbits(8) % len(modules)]
            digest = b"%032d" % step
            try:
                if kind == "swap":
                    key = held[rng.getrandbits(8) % len(held)]
                    table.swap(key, module, "t", digest)
                else:
                    key = "M%055d" % step
                    table.install(key, module, "t", digest)
                    held.append(key)
                ops[key] = operation(module)
                accepted += 1
            except ActorRefused as exc:
                text = str(exc)
                if ": ram: " not in text and ": slots: " not in text:
                    gc.collect()
                    print("failed=%d %s %d free=%d %s" % (step, kind, len(module), gc.mem_free(),
                                                         text))
                continue
        for key in held:
            table.get(key).host.call(ops[key], CALLS[ops[key]])
        gc.collect()
        low_free = min(low_free, gc.mem_free())
        micropython.mem_info()  # its "max free sz" is the largest free block, in blocks
        most = max(most, len(held))
    print("low_free=%d accepted=%d most=%d" % (low_free, accepted, most))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split(","), sys.argv[5:])
