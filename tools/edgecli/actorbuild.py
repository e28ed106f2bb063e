"""Build the project's own actors (tools/actors/*.c) to wasm32 with zig from PyPI.

Each `NAME.c` becomes `NAME.wasm` in the build folder's `actors/` (edgecli.packagedata). The
output is byte-for-byte reproducible (symbols stripped, no paths embedded), and a build is
skipped when neither the source, the shared header, the flags nor the compiler changed. A
source may add linker or compiler flags with a line `build-flags: ...` in its header comment.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from edgecli import packagedata

SOURCES = packagedata.actors_dir()
OUTPUT = packagedata.build_dir() / "actors"

# mvp: only the core instruction set, which every wasm3 build (board and pywasm3) runs.
# Small stack and one initial page keep the actors within a board's memory budget.
BASE_FLAGS = [
    "--target=wasm32-freestanding",
    "-nostdlib",
    "-O2",
    "-mcpu=mvp",
    "-s",
    "-Wall",
    "-Werror",
    "-Wl,--no-entry",
    "-Wl,-z,stack-size=8192",
    "-Wl,--initial-memory=131072",
]


class ActorBuildError(RuntimeError):
    """An actor source did not compile; the message holds the compiler's output."""


def _extra_flags(source: Path) -> list[str]:
    for line in source.read_text().splitlines():
        if "build-flags:" in line:
            return line.split("build-flags:", 1)[1].replace("*/", "").split()
    return []


def _included(source: Path) -> list[Path]:
    """The project files a source includes (`#include "x.h"`), so a change to them rebuilds it."""
    found = []
    for line in source.read_text().splitlines():
        line = line.strip()
        if line.startswith("#include \""):
            found.append(source.parent / line.split('"')[1])
    return found


def _zig_version() -> str:
    from importlib.metadata import version

    return version("ziglang")


def build_actor(source: Path, out_dir: Path = OUTPUT) -> Path:
    """Compile one actor source unless an identical build is already there."""
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir.resolve() / (source.stem + ".wasm")  # the compiler runs in SOURCES
    stamp = out.with_suffix(".wasm.inputs")
    flags = BASE_FLAGS + _extra_flags(source)
    digest = hashlib.sha256()
    inputs = [source, SOURCES / "wapc.h", *_included(source)]
    for path in list(inputs):
        inputs.extend(p for p in _included(path) if p not in inputs)
    parts = [p.read_bytes() for p in inputs] + [" ".join(flags).encode(), _zig_version().encode()]
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    if out.exists() and stamp.exists() and stamp.read_text() == digest.hexdigest():
        return out
    cmd = [sys.executable, "-m", "ziglang", "cc", *flags, "-o", str(out), source.name]
    done = subprocess.run(cmd, cwd=source.parent, capture_output=True, text=True)
    if done.returncode != 0:
        raise ActorBuildError(f"actor {source.name} did not compile:\n{done.stderr.strip()}")
    stamp.write_text(digest.hexdigest())
    return out


def build_all(out_dir: Path = OUTPUT,
              on_actor: Callable[[str, int, int], None] | None = None) -> dict[str, Path]:
    """Build every actor; returns {name: path of its .wasm}.

    `on_actor(name, index, count)` is told before each actor is looked at (for progress).
    """
    sources = sorted(SOURCES.glob("*.c"))
    if not sources:
        raise ActorBuildError(f"no actor sources (NAME.c) in {SOURCES}")
    built = {}
    for index, src in enumerate(sources):
        if on_actor is not None:
            on_actor(src.stem, index, len(sources))
        built[src.stem] = build_actor(src, out_dir)
    return built
