"""The board profiles of this checkout (hardware/profiles/), read through edgeprofile."""

from __future__ import annotations

import os
from pathlib import Path

from edgeprofile import DEFAULT_PROFILE, Profile, ProfileError, load_profile, profile_names

# $EDGEHOST_PROFILES_DIR: a folder of profiles of one's own (a board this checkout lacks)
PROFILES_DIR = Path(os.environ.get("EDGEHOST_PROFILES_DIR")
                    or Path(__file__).resolve().parents[2] / "hardware" / "profiles")

__all__ = ["DEFAULT_PROFILE", "PROFILES_DIR", "Profile", "ProfileError", "all_profiles",
           "profile"]


def profile(name: str) -> Profile:
    """The profile called `name`; ProfileError names the known ones when there is none."""
    return load_profile(name, str(PROFILES_DIR))


def all_profiles() -> list[Profile]:
    return [profile(name) for name in profile_names(str(PROFILES_DIR))]
