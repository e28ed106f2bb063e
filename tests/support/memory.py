"""The resident memory of a process, for tests that check it stays bounded."""

from __future__ import annotations

from pathlib import Path


def resident_kb(pid: int | str = "self") -> int:
    """VmRSS of a running process (this one by default), in KB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"process {pid} reports no VmRSS")
