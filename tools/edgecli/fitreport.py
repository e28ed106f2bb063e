"""What `edgehost board fit` and `install` say about a module's fit, before any upload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgecli.profiles import Profile
from edgemodule.fit import ENGINE_BASIS, Budget, Needs, kib, refusal
from edgemodule.wasminspect import inspect_bytes
from edgemodule.wasmsections import WasmFormatError


def module_needs(path: Path, data: bytes) -> Needs:
    """What the module asks of a board; ValueError names the file when it is no module."""
    try:
        return Needs(inspect_bytes(data), len(data))
    except WasmFormatError as exc:
        raise ValueError(f"{path}: not a valid module: {exc}") from None


def verdict(needs: Needs, budget: Budget, new_slot: bool = True) -> str:
    refused = refusal(needs, budget, new_slot)
    return "fits" if refused is None else f"refused: {refused[0]}: {refused[1]}"


def profile_budget(profile: Profile) -> Budget:
    """What an empty board of this profile has for an actor."""
    return Budget(profile.limits, maps=profile.maps_modules)


def profile_refuses(needs: Needs, profile: Profile) -> bool:
    return refusal(needs, profile_budget(profile)) is not None


def describe(path: Path, needs: Needs) -> list[str]:
    """The module's side of the fit, as lines for the user."""
    inspection = needs.inspection
    by_module: dict[str, int] = {}
    for module, _, kind, _ in inspection.imports:
        if kind == "func":
            by_module[module] = by_module.get(module, 0) + 1
    imports = ", ".join(f"{name} ({count} functions)" for name, count in by_module.items())
    exports = ", ".join(sorted(name for name, kind in inspection.exports.items()
                               if kind == "func"))
    return [
        f"module   {path} ({needs.module_bytes:,} bytes): code {needs.code_bytes:,} bytes, "
        f"data {needs.data_bytes:,} bytes",
        f"memory   {needs.pages} pages ({kib(needs.memory_bytes)}) declared up front",
        f"imports  {imports or 'none'}",
        f"exports  {exports or 'none'}",
        f"RAM      {kib(needs.ram_bytes)} ({needs.ram_parts()}); {kib(needs.ram(True))} "
        "where the board runs it from mapped flash",
        f"         engine estimate: {ENGINE_BASIS}",
    ]


def table(needs: Needs, profiles: list[Profile]) -> list[str]:
    """A row per profile: its budget and the verdict."""
    width = max(len("profile"), *(len(p.name) for p in profiles))
    lines = [f"{'profile':<{width}}  {'PSRAM':>9}  {'actor RAM':>9}  {'pages':>5}  "
             f"{'flash':>9}  verdict"]
    for p in profiles:
        limits = p.limits
        lines.append(f"{p.name:<{width}}  {kib(p.psram_bytes):>9}  "
                     f"{kib(limits['actor_ram_bytes']):>9}  "
                     f"{limits['max_pages_per_actor']:>5}  "
                     f"{kib(limits['module_flash_bytes']):>9}  "
                     f"{verdict(needs, profile_budget(p))}")
    return lines


def board_refusal(needs: Needs, hello: dict[str, Any], new_slot: bool) -> str | None:
    """Why the board of this hello cannot take the module, or None when it can or cannot
    tell (an older board says no budget; the board checks again on its side either way)."""
    if hello.get("engine") == "none":
        return "engine: this board has no wasm engine"
    report = hello.get("budget")
    try:
        budget = Budget.from_report(report) if isinstance(report, dict) else None
    except ValueError:
        budget = None
    refused = refusal(needs, budget, new_slot) if budget is not None else None
    return None if refused is None else f"{refused[0]}: {refused[1]}"
