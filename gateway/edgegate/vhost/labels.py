"""A board host's labels and its Host description (the ping answer)."""

from __future__ import annotations

from typing import Any

# what a board's chip is, for hostcore.arch: the Xtensa parts and the RISC-V ones
_RISCV_CHIPS = ("esp32c2", "esp32c3", "esp32c5", "esp32c6", "esp32h2", "esp32p4")


def board_arch(hello: dict[str, Any]) -> str:
    chip = str(hello.get("chip") or hello.get("profile") or "").lower().replace("-", "")
    if any(name in chip for name in _RISCV_CHIPS):
        return "riscv32"
    return "xtensa"


def board_labels(board_id: str, hello: dict[str, Any], registry_labels: dict[str, str],
                 env_labels: dict[str, str]) -> dict[str, str]:
    """The board's own arch and OS (not the gateway's), its id and profile, then the
    lattice-wide HOST_* labels, then the registry's labels for this board (which win)."""
    labels = {
        "hostcore.arch": board_arch(hello),
        "hostcore.os": str(hello.get("os") or "micropython"),
        "hostcore.osfamily": "embedded",
        "edgehost.board": board_id,
        "edgehost.profile": str(hello.get("profile") or ""),
        "edgehost.engine": str(hello.get("engine") or ""),
    }
    labels.update(env_labels)
    labels.update(registry_labels)
    return labels


def uptime_human(seconds: float) -> str:
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "",
             f"{minutes}m" if minutes else "", f"{secs}s"]
    return " ".join(part for part in parts if part)
