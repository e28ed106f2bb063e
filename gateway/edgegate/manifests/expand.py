"""`${VAR}` and `${VAR:default}` in manifest strings, from the environment, as the seed's host.

As there: `${VAR}` of a variable that is not set stays as it is written, `${VAR:default}`
gives the default, and a bare `$VAR` is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}")


def expand(text: str, env: Mapping[str, str]) -> str:
    def value(found: re.Match[str]) -> str:
        name, default = found.group(1), found.group(2)
        if name in env:
            return env[name]
        return found.group(0) if default is None else default

    return _REFERENCE.sub(value, text)
