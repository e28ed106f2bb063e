"""Short runs of the benchmarks in tools/bench/: each must still complete and print its figures.

The figures' values are not judged (docs/PERFORMANCE.md has them, measured on a quiet machine);
a benchmark that no longer completes, or ends without its last `name=value` line, fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "tools" / "bench"


@dataclass
class ShortRun:
    """What a benchmark printed: every `name=value` figure, and its last line."""

    figures: dict[str, str]
    last_line: str

    def number(self, name: str) -> float:
        """Figure `name` as a number (it must be there)."""
        assert name in self.figures, "no %s= figure in %s" % (name, self.figures)
        return float(self.figures[name])


def figures(output: str) -> dict[str, str]:
    found = {}
    for line in output.splitlines():
        for part in line.split():
            name, equals, value = part.partition("=")
            if equals and name.isidentifier():
                found[name] = value
    return found


def short_run(script: str, *args: object, interpreter: Sequence[str] = (sys.executable,),
              env: dict[str, str] | None = None, timeout: float = 110) -> ShortRun:
    """Run tools/bench/`script` with `args`; the test fails with the end of its output if it
    does not complete."""
    done = subprocess.run([*interpreter, str(BENCH / script), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    assert done.returncode == 0, "%s failed (exit %d):\n%s" % (
        script, done.returncode, (done.stdout + done.stderr)[-3000:])
    lines = done.stdout.strip().splitlines()
    assert lines, "%s printed nothing" % script
    return ShortRun(figures(done.stdout), lines[-1])
