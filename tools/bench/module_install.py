"""`edgehost board install` of a 2 MiB module into simulated boards, streamed to their flash.

Starts `edgehost sim` (the default ESP32-S3 N8R8 profile: 4 KiB frames, a window of 8) over
TCP and over a pty throttled to --baud both ways, and installs the rust_bulky actor (a 2 MiB
data section) through BoardClient, as `edgehost board install` does. The baseline is the link
benchmark's bulk transfer of as many bytes with the same frame and window over a paced pty at
the same baud, into a board end that keeps the body in RAM and does nothing with it, measured
in the same run. The last line is module_install_ratio: install over the pty / that transfer.

    .venv/bin/python tools/bench/module_install.py [--baud 921600]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from board_call import simulated_boards
from link_throughput import link_run

from edgecli import actorbuild
from edgegate.devices.boardclient import BoardClient
from edgegate.wascap import ActorMetadata, KeyPair, SignedModule, sign_module

FRAME = 4096  # the ESP32-S3 N8R8 profile's
WINDOW = 8


def signed_bulky() -> tuple[bytes, str]:
    module = actorbuild.build_all()["rust_bulky"].read_bytes()
    subject = KeyPair.generate("module")
    signed = sign_module(module, KeyPair.generate("account"), subject,
                         ActorMetadata("rust_bulky"))
    return signed, subject.public_key


async def install(client: BoardClient, module: bytes, actor: str) -> tuple[float, int]:
    """Seconds from the first byte sent to the board's `installed`, and wire bytes sent."""
    token = SignedModule(module).token.text
    before = client.wire_bytes[0]
    start = time.perf_counter()
    reply = await client.install(module, token, actor)
    seconds = time.perf_counter() - start
    assert reply["t"] == "installed", reply
    return seconds, client.wire_bytes[0] - before


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baud", type=int, default=921600)
    args = parser.parse_args()

    module, actor = signed_bulky()
    print(f"rust_bulky: {len(module):,} bytes; simulated ESP32-S3 N8R8 ({FRAME}-byte frames, "
          f"window {WINDOW}); pty at {args.baud} baud both ways")
    results = {}
    with tempfile.TemporaryDirectory(prefix="module-install-bench-") as tmp:
        async for name, client in simulated_boards(Path(tmp), args.baud, timeout=60):
            seconds, wire = await install(client, module, actor)
            results[name] = seconds
            print(f"install over {name}: {seconds:7.2f} s, {len(module) / seconds / 1024:8.1f} "
                  f"KiB/s of module, {wire:,} wire bytes sent")
    link = await link_run(args.baud, len(module), 1, FRAME, WINDOW)
    print(f"link bulk transfer over pty (baseline): {link['bulk_seconds']:7.2f} s, "
          f"{len(module) / link['bulk_seconds'] / 1024:8.1f} KiB/s; the line's own limit at "
          f"{args.baud} baud is {args.baud / 10 / 1024:.1f} KiB/s")
    print(f"module_install_ratio={results['pty'] / link['bulk_seconds']:.3f}")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
