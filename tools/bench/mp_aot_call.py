"""Run under the board's MicroPython by aot_call.py: the CPU-bound actor (crunch) and the echo
actor through WapcHost, on wasm3 and on their translations, in the same process.

    micropython mp_aot_call.py ACTORS_DIR CRUNCH_MPY ECHO_MPY ROUNDS CRUNCH_ROUNDS ECHO_CALLS
"""

import struct
import sys
import time

from edgehost import aotengine
from edgehost.wapc import WapcHost


def best_us(fn, rounds):
    best = None
    for _ in range(rounds):
        start = time.ticks_us()
        fn()
        took = time.ticks_diff(time.ticks_us(), start)
        best = took if best is None else min(best, took)
    return best


def main(actors_dir, crunch_mpy, echo_mpy, rounds, crunch_rounds, echo_calls):
    def load(name):
        with open(actors_dir + "/" + name + ".wasm", "rb") as stream:
            return stream.read()

    hosts = {}
    for name, mpy in (("crunch", crunch_mpy), ("echo", echo_mpy)):
        engine = aotengine.AotEngine(aotengine.load(mpy))
        hosts[name] = {"wasm3": WapcHost(name, load(name)),
                       "aot": WapcHost(name, load(name), engine=engine)}
    work = struct.pack("<I", crunch_rounds)
    answers = [hosts["crunch"][e].call("Crunch", work) for e in ("wasm3", "aot")]
    if answers[0] != answers[1]:
        raise SystemExit("the engines disagree: wasm3 %r, aot %r" % tuple(answers))
    payload = bytes(64)
    figures = {}
    for _ in range(rounds):  # alternating, so a noisy machine disturbs both alike
        for engine in ("wasm3", "aot"):
            crunch, echo = hosts["crunch"][engine], hosts["echo"][engine]
            took = best_us(lambda: crunch.call("Crunch", work), 1)  # noqa: B023
            key = "crunch_us_" + engine
            figures[key] = min(figures.get(key, took), took)

            def echoes():
                for _ in range(echo_calls):
                    echo.call("Echo", payload)  # noqa: B023

            took = best_us(echoes, 1) / echo_calls
            key = "echo_us_" + engine
            figures[key] = min(figures.get(key, took), took)
    for key in sorted(figures):
        print("%s=%.1f" % (key, figures[key]))
    print("echo_speedup=%.2f" % (figures["echo_us_wasm3"] / figures["echo_us_aot"]))
    print("aot_speedup=%.2f" % (figures["crunch_us_wasm3"] / figures["crunch_us_aot"]))


main(sys.argv[1], sys.argv[2], sys.argv[3], *[int(a) for a in sys.argv[4:7]])
