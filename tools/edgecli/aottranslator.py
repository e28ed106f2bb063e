"""The translator the command line hands the gateway for the ahead-of-time tier: edgecli.aot,
with the limits the board's engine bakes in, and its failures as the gateway's one line."""

from __future__ import annotations

from edgecli import aot
from edgegate.vhost.nativecode import Translated, TranslationFailed
from edgehost.native import compiled_limits


def translate(module: bytes, arch: str) -> Translated:
    """`module` as a native module for `arch` (cached by edgecli.aot); TranslationFailed in
    one line when it cannot be built here."""
    if arch.startswith("xtensa"):
        raise TranslationFailed(f"architecture {arch}: needs Espressif's Xtensa toolchain, "
                                f"which the translator does not use yet (it builds "
                                f"{', '.join(aot.ARCHITECTURES)})")
    try:
        path = aot.translate(module, arch)
    except aot.TranslationError as exc:
        raise TranslationFailed(str(exc).splitlines()[0]) from None
    return Translated(path.read_bytes(), compiled_limits())
