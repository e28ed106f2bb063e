"""The board profiles edgehost carries (hardware/profiles/), read through edgeprofile."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from edgecli import packagedata
from edgeprofile import DEFAULT_PROFILE, Profile, ProfileError, load_profile, profile_names

# $EDGEHOST_PROFILES_DIR: a folder of profiles of one's own (a board edgehost lacks)
PROFILES_DIR = Path(os.environ.get("EDGEHOST_PROFILES_DIR") or packagedata.profiles_dir())

__all__ = ["DEFAULT_PROFILE", "PROFILES_DIR", "Profile", "ProfileError", "all_profiles",
           "profile", "profile_file", "profile_json"]


def profile(name: str) -> Profile:
    """The profile called `name`; ProfileError names the known ones when there is none."""
    return load_profile(name, str(PROFILES_DIR))


def all_profiles() -> list[Profile]:
    names = profile_names(str(PROFILES_DIR))
    if not names:
        raise ProfileError(f"no board profiles (NAME.json) in {PROFILES_DIR}")
    return [profile(name) for name in names]


def profile_file(name: str) -> Path:
    return PROFILES_DIR / (name + ".json")


def profile_json(name: str) -> dict[str, Any]:
    """The checked profile's whole JSON object, with what edgeprofile does not read (its
    `uart` and `usb` objects, the MicroPython board its `firmware` builds on)."""
    profile(name)  # checked first: a wrong name says which ones there are
    return json.loads(profile_file(name).read_text())
