"""`edgehost sim`: the board firmware run under CPython as a simulated board."""

from __future__ import annotations

import argparse
import signal
import sys

from edgecli import simulator as simulator_module
from edgecli.output import fail
from edgecli.simulator import SimError, SimOptions, build, native_key
from edgegate import lifeline


def sim(args: argparse.Namespace) -> int:
    simulator_module.show_debug = args.verbose
    runtime = ("circuitpython" if getattr(args, "circuitpython", False) else
               "micropython" if getattr(args, "micropython", False) else None)
    if args.native_code and runtime != "micropython":
        return fail("--native-code needs --micropython: only the board's MicroPython loads "
                    "native code")
    try:
        options = SimOptions(args.config, args.key_file, args.tcp, args.pty, args.flash_dir,
                             args.baud, args.profile, args.board_id, args.native_code)
        simulator = build(options)
        if runtime is not None:
            from edgecli.mpsim import MicroPythonBoard

            simulator.board = MicroPythonBoard(simulator, runtime, native_key(options))
    except SimError as exc:
        return fail(str(exc))
    # SIGTERM stops the board like Ctrl-C does: the loop ends and the line is closed
    signal.signal(signal.SIGTERM, lambda *_: simulator.stop())
    if args.stop_with_stdin:
        lifeline.stop_when_stdin_closes()
    print(simulator.ready_line, flush=True)
    try:
        simulator.run()
    except KeyboardInterrupt:
        simulator.stop()
    sys.stderr.flush()
    return 0
