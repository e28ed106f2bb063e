"""Board profiles (hardware/profiles/*.json): what a board has and the limits it sets its actors.

The one reader of a profile for the board, the simulator and the gateway. A board's config
names its profile; the profile's limits are the defaults and the config may only lower them.
"""

import json

from edgemodule.region import DATA_START, extent

# limit name -> what it bounds, as said in errors
LIMITS = {
    "actor_ram_bytes": "RAM for actors (linear memory, engine, modules not mapped)",
    "max_pages_per_actor": "64 KiB memory pages one actor may declare",
    "max_actors": "actor slots",
    "module_flash_bytes": "flash for modules",
    "max_frame": "bytes per link frame",
    "window": "chunks and requests in flight",
    "max_payload": "bytes per invocation payload",
    "call_deadline_ms": "milliseconds one call may run in the guest before the engine stops it",
    "native_code_bytes": "bytes of translated native code loaded between two reboots",
}
# limits a profile may leave out, with their value then
DEFAULT_LIMITS = {"native_code_bytes": 0}  # none: the board loads no native code
DEFAULT_PROFILE = "esp32-s3-devkitc-n8r8"
MIN_FRAME = 64


class ProfileError(ValueError):
    """A profile is missing or breaks a rule; the message names the profile and the field."""


class Profile:
    """A checked profile: `name`, `chip`, `board`, `psram_bytes`, `flash_bytes`,
    `mappable_flash_bytes` (flash the chip can map for modules to run in place; 0 where they
    are read into RAM), `limits`."""

    def __init__(self, data, where):
        if not isinstance(data, dict):
            raise ProfileError("%s: must be a JSON object" % where)
        self.name = _text(data, "name", where)
        self.chip = _text(data, "chip", where)
        self.board = data.get("board") or self.name
        self.notes = data.get("notes") or ""
        self.flash_bytes = _count(data, "flash_bytes", where, 0)
        self.psram_bytes = _count(data, "psram_bytes", where, 0)
        self.mappable_flash_bytes = (_count(data, "mappable_flash_bytes", where, 0)
                                     if "mappable_flash_bytes" in data else 0)
        limits = data.get("limits")
        if not isinstance(limits, dict):
            raise ProfileError("%s: limits must be an object" % where)
        self.limits = check_limits(limits, where + " limits", LIMITS, True)
        region = self.region_bytes()
        if self.mappable_flash_bytes and region > self.mappable_flash_bytes:
            raise ProfileError(
                "%s: limits.module_flash_bytes %d needs a module region of %d bytes, more than "
                "the %d bytes of flash the chip maps (mappable_flash_bytes)"
                % (where, self.limits["module_flash_bytes"], region, self.mappable_flash_bytes))
        self.pins = check_pins(data.get("pins") or {}, where + " pins")

    @property
    def maps_modules(self):
        """Whether modules run in place from mapped flash (else they are read into RAM)."""
        return self.mappable_flash_bytes > 0

    def region_bytes(self):
        """The module region's size: its index and the flash for modules, in whole sectors."""
        return DATA_START + extent(self.limits["module_flash_bytes"])

    def lowered(self, limits, where):
        """This profile's limits with those a config gives; a config may not raise one."""
        given = check_limits(limits, where, self.limits, False)
        out = dict(self.limits)
        for name, value in given.items():
            if value > self.limits[name]:
                raise ProfileError(
                    "%s: limits.%s %d is above the %d of profile %s; a config may only lower "
                    "its profile's limits" % (where, name, value, self.limits[name], self.name))
            out[name] = value
        if out["max_frame"] < MIN_FRAME:
            raise ProfileError("%s: limits.max_frame must be at least %d bytes"
                               % (where, MIN_FRAME))
        return out


def _text(data, key, where):
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ProfileError("%s: %s must be a non-empty string, got %r" % (where, key, value))
    return value


def _count(data, key, where, lowest=1):
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < lowest:
        raise ProfileError("%s: %s must be an integer of at least %d, got %r"
                           % (where, key, lowest, value))
    return value


def check_limits(limits, where, known, complete):
    """`limits` checked against the `known` names: each a positive integer, all present when
    `complete`. Returns a new dict."""
    out = {}
    for name in limits:
        if name not in known:
            raise ProfileError("%s: limits.%s is not a known limit (known: %s)"
                               % (where, name, ", ".join(sorted(known))))
        out[name] = _count(limits, name, where)
    if complete:
        for name in known:
            if name in DEFAULT_LIMITS and name not in out:
                out[name] = DEFAULT_LIMITS[name]
            elif name not in out:
                raise ProfileError("%s: limits.%s is missing" % (where, name))
    return out


def check_pins(pins, where):
    """The pins a profile opens to actors: `led` and `sensor` a pin number each, `gpio` a list."""
    if not isinstance(pins, dict):
        raise ProfileError("%s: must be an object" % where)
    out = {}
    for name, value in pins.items():
        if name in ("led", "sensor"):
            values = [value]
        elif name == "gpio" and isinstance(value, list):
            values = value
        else:
            raise ProfileError("%s: %s is not a known pin role (led, sensor, gpio: a list)"
                               % (where, name))
        for pin in values:
            if not isinstance(pin, int) or isinstance(pin, bool) or not 0 <= pin <= 255:
                raise ProfileError("%s: %s must be pin numbers 0-255, got %r"
                                   % (where, name, value))
        out[name] = value
    return out


def profile_names(folder):
    import os

    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(name[:-5] for name in names if name.endswith(".json"))


def load_profile(name, folder):
    """The profile called `name` from `folder`; ProfileError names what is wrong."""
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        raise ProfileError("profile %r: not a profile name" % (name,))
    path = "%s/%s.json" % (folder, name)
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        known = profile_names(folder)
        raise ProfileError("profile %s: not found in %s (known: %s)"
                           % (name, folder, ", ".join(known) or "none"))
    try:
        data = json.loads(text)
    except ValueError:
        raise ProfileError("profile %s: %s is not valid JSON" % (name, path))
    profile = Profile(data, "profile " + name)
    if profile.name != name:
        raise ProfileError("profile %s: %s says its name is %s" % (name, path, profile.name))
    return profile
