"""The gateway's side of the ahead-of-time tier: a board's verified actor translated to native
code for the board's architecture, signed with the board's native-code key, and sent to it.

The translator is not the gateway's (it needs the pinned MicroPython build, which the command
line holds): whoever starts the gateway passes it in, as a `Translator`. A board is offered
translations only if it takes native code (its hello says `native`) and the gateway holds its
native-code key; whatever goes wrong, the actor runs on wasm3 and one line says why.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edgegate.devices.session import BoardError, BoardSession
from edgemodule import translation

log = logging.getLogger(__name__)

NATIVE_SECONDS = 60.0  # the board checks, stores and loads the translation


class TranslationFailed(Exception):
    """The translator could not translate a module; the message is one line saying why."""


@dataclass
class Translated:
    mpy: bytes  # the MicroPython native module
    limits: str  # the limits it bakes in, as the board spells them (edgehost.native)


# (module bytes, architecture as MicroPython names it) -> Translated; TranslationFailed if not
Translator = Callable[[bytes, str], Translated]


class NativeCode:
    """Translates with `translator`, signs with each board's native-code key, sends."""

    def __init__(self, translator: Translator):
        self._translator = translator
        # one translation at a time: two boards installing one actor share its build folder
        self._translating = asyncio.Lock()

    async def offer(self, session: BoardSession, board_id: str, key: bytes | None, actor: str,
                    digest: bytes, module: bytes) -> str | None:
        """Translate actor `actor` (its verified `module`, SHA-256 `digest`) for the board of
        `session`, sign it with the board's native-code `key` and send it; the engine the board
        then runs it on, None for a board that takes no native code."""
        facts = session.hello.get("native")
        if not isinstance(facts, dict) or not facts:
            return None
        if key is None:
            log.warning("board %s takes native code, but the gateway has no native_key for it "
                        "(registry or key file): actor %s runs on wasm3", board_id, actor)
            return "wasm3"
        arch = str(facts.get("arch"))
        try:
            async with self._translating:
                done = await asyncio.to_thread(self._translator, module, arch)
        except TranslationFailed as exc:
            log.warning("board %s: actor %s runs on wasm3: no translation for %s: %s",
                        board_id, actor, arch, exc)
            return "wasm3"
        fields = self.binding(done, digest, session.hello)
        msg = {"t": "native", "actor": actor, "binding": fields,
               "sig": translation.sign(key, fields)}
        try:
            reply = await session.upload(msg, done.mpy, timeout=NATIVE_SECONDS)
        except BoardError as exc:
            log.warning("board %s: actor %s runs on wasm3: its translation was not taken: %s",
                        board_id, actor, exc)
            return "wasm3"
        engine = str(reply.get("engine") or "wasm3")
        info = session.hello.setdefault("actor_info", {})
        info[actor] = {**(info.get(actor) or {}), "engine": engine}
        return engine

    @staticmethod
    def binding(done: Translated, digest: bytes, hello: dict[str, Any]) -> dict[str, str]:
        """What the translation is for: the module, the architecture and .mpy version its
        header says, the board's firmware, the limits it bakes in, and its own SHA-256."""
        try:
            arch, mpy = translation.mpy_facts(done.mpy)
        except translation.TranslationRefused:
            arch, mpy = "none", "0.0"  # the board refuses it, and says why
        return {"module": digest.hex(), "arch": arch, "mpy": mpy,
                "firmware": str(hello.get("firmware")), "limits": done.limits,
                "native": hashlib.sha256(done.mpy).hexdigest()}
