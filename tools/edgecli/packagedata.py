"""Where the files the commands carry are, wherever edgehost is installed.

The wheel carries the board profiles, the board's code and C modules, the actor sources and
the CircuitPython board stand-ins as the data packages `edgefiles.*` (pyproject.toml maps each
to its folder of the source tree). They are found through the import system, so the same code
serves an installed wheel and an editable install of a clone. What the commands build goes to
`$EDGEHOST_BUILD_DIR`, else to `build/` of the source tree an editable install runs from, else
to the user's cache folder: never into the installed package.
"""

from __future__ import annotations

import importlib.util
import json
import os
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

DISTRIBUTION = "edgehost"


class PackageDataError(RuntimeError):
    """A data package is missing: the installation is incomplete."""


def _data_dir(name: str) -> Path:
    try:
        spec = importlib.util.find_spec("edgefiles." + name)
    except ModuleNotFoundError:  # not even the edgefiles namespace
        spec = None
    # a data package has no __init__.py: its folder is the first real one of its search path
    for place in (spec.submodule_search_locations or []) if spec else []:
        if Path(place).is_dir():
            return Path(place)
    raise PackageDataError(f"edgehost is installed without its files (edgefiles.{name}): "
                           f"install it again with pip")


def profiles_dir() -> Path:
    """The board profiles (hardware/profiles/ of the source tree)."""
    return _data_dir("profiles")


def firmware_dir() -> Path:
    """What goes onto the board: the `edgehost` package, main.py, boot.py, the freeze
    manifest and the wasm3 C module (`cmodules/`)."""
    return _data_dir("firmware")


def shared_dir() -> Path:
    """The board's packages that the gateway shares: edgelink, edgemodule, edgeprofile."""
    return _data_dir("shared")


def actors_dir() -> Path:
    """The sources of the project's own actors."""
    return _data_dir("actors")


def cpboard_dir() -> Path:
    """The stand-ins that make the CircuitPython unix port look like a CircuitPython board."""
    return _data_dir("cpboard")


def _editable_source() -> Path | None:
    """The source tree of an editable install (pip's direct_url.json), else None."""
    # a source tree's own edgehost.egg-info is found too when Python runs there: it has no
    # direct_url.json, the installed distribution has
    for dist in metadata.distributions(name=DISTRIBUTION):
        text = dist.read_text("direct_url.json")
        if text:
            found = json.loads(text)
            url = urlparse(found.get("url", ""))
            if found.get("dir_info", {}).get("editable") and url.scheme == "file":
                return Path(unquote(url.path))
            return None
    return None


def build_dir() -> Path:
    """Where builds go (actors, the board's MicroPython and CircuitPython, firmware)."""
    if os.environ.get("EDGEHOST_BUILD_DIR"):
        return Path(os.environ["EDGEHOST_BUILD_DIR"])
    source = _editable_source()
    if source is not None:
        return source / "build"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "edgehost" / "build"


def vendor_dir() -> Path:
    """Pinned source archives used instead of a git fetch: $EDGEHOST_VENDOR_DIR, else the
    handbook's vendor folder beside an editable install's source tree."""
    if os.environ.get("EDGEHOST_VENDOR_DIR"):
        return Path(os.environ["EDGEHOST_VENDOR_DIR"])
    source = _editable_source()
    return (source.parent / "shared" / "vendor") if source else build_dir() / "vendor"
