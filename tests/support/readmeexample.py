"""The README's example test file for the pytest plugin, as a user copies it."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- pytest example -->"


def pytest_example() -> str:
    """The ```python block right after the README's `<!-- pytest example -->`."""
    found = re.search(re.escape(MARKER) + r"\n```python\n(.*?)```", README.read_text(), re.S)
    assert found, "the README has no %s followed by a python block" % MARKER
    return found.group(1)
