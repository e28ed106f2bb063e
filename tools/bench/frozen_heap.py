"""Heap the board's host code takes once imported: frozen into the firmware, deployed as .mpy, or
as .py sources.

    .venv/bin/python tools/bench/frozen_heap.py

Runs on the 32-bit build of the board's MicroPython (the unix port with the wasm3 module, built
by edgecli.mpbuild: once as is, once with firmware/manifest.py frozen in), as an ESP32 is 32-bit.
Each figure is gc.mem_alloc() after importing main, edgehost.board, edgehost.requests and
edgelink.link, less before, collected, in a fresh interpreter. Ends with
`frozen_heap_bytes=<frozen>` (the goal is at most 32 KB).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from edgecli import boardfiles, mpbuild

CODE = ("import gc\ngc.collect()\nbefore = gc.mem_alloc()\n"
        "import main, edgehost.board, edgehost.requests, edgelink.link\n"
        "gc.collect()\nprint(gc.mem_alloc() - before)\n")


def heap_after_import(binary: Path, folder: Path, micropypath: str | None) -> int:
    env = {k: v for k, v in os.environ.items() if k != "MICROPYPATH"}
    if micropypath:
        env["MICROPYPATH"] = micropypath
    done = subprocess.run([str(binary), "-c", CODE], cwd=folder, env=env, capture_output=True,
                          text=True, check=True)
    return int(done.stdout.strip())


def main() -> None:
    plain = mpbuild.ensure_built(bits32=True)
    frozen = mpbuild.ensure_built(frozen=True, bits32=True)
    with tempfile.TemporaryDirectory() as scratch:
        empty, deployed = Path(scratch, "empty"), Path(scratch, "mpy")
        empty.mkdir()
        for path, data in boardfiles.compiled_files("6.3").items():
            (deployed / path).parent.mkdir(parents=True, exist_ok=True)
            (deployed / path).write_bytes(data)
        figures = {
            "frozen": heap_after_import(frozen, empty, None),
            ".mpy": heap_after_import(plain, deployed, None),
            ".py": heap_after_import(plain, empty, ":".join(map(str, mpbuild.FROZEN_DIRS))),
        }
    for name, value in figures.items():
        print("%-7s %7d bytes of heap" % (name, value))
    print("binary  %7d bytes frozen, %d without" % (frozen.stat().st_size, plain.stat().st_size))
    print("frozen_heap_ratio=%.2f" % (figures["frozen"] / figures[".mpy"]))
    print("frozen_heap_bytes=%d" % figures["frozen"])


if __name__ == "__main__":
    main()
