"""The board's config.json: read it, check every field, and say exactly what is wrong."""

import json

from edgelink import pairing
from edgeprofile import ProfileError, load_profile

TRANSPORTS = ("uart", "usb", "wifi", "tcp-listen")
PROFILES = "profiles"  # the board's copy of hardware/profiles, beside config.json


class ConfigError(ValueError):
    """config.json is missing or a field breaks a rule; the message names the field."""


def _want(cfg, key, kind, where, default=None, required=True):
    value = cfg.get(key, default)
    if value is None:
        if required:
            raise ConfigError("%s: %s is missing" % (where, key))
        return None
    if kind is int:
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ConfigError("%s: %s must be a positive integer, got %r" % (where, key, value))
    elif not isinstance(value, kind) or (kind is str and not value):
        raise ConfigError(
            "%s: %s must be a non-empty %s, got %r" % (where, key, kind.__name__, value)
        )
    return value


class BoardConfig:
    """A checked config: board identity, transport settings and limits."""

    def __init__(self, data, where="config.json", profiles=PROFILES):
        if not isinstance(data, dict):
            raise ConfigError("%s: must be a JSON object" % where)
        _want(data, "board_id", str, where)
        _want(data, "pairing_key", str, where)
        try:
            self.board_id = pairing.board_id_bytes(data["board_id"]).decode()
            self.pairing_key = pairing.pairing_key(data["pairing_key"])
        except pairing.PairingError as exc:
            raise ConfigError("%s: %s" % (where, exc))
        # the key translations to native code are signed with; none: the board runs wasm only
        self.native_key = None
        if data.get("native_key") is not None:
            try:
                self.native_key = pairing.pairing_key(data["native_key"],
                                                      pairing.NATIVE_KEY_RULE)
            except pairing.PairingError as exc:
                raise ConfigError("%s: %s" % (where, exc))
        self.profile = _want(data, "profile", str, where)
        self.health_period_s = _want(data, "health_period_s", int, where, 30)
        # how long a guest waits for the gateway to answer a host call before it gets an error
        self.host_call_timeout_ms = _want(data, "host_call_timeout_ms", int, where, 10000)
        transport = data.get("transport")
        if not isinstance(transport, dict):
            raise ConfigError("%s: transport must be an object with a kind" % where)
        kind = transport.get("kind")
        if kind not in TRANSPORTS:
            raise ConfigError(
                "%s: transport.kind must be one of %s, got %r"
                % (where, ", ".join(TRANSPORTS), kind)
            )
        tw = where + " transport"
        if kind == "uart":
            _want(transport, "uart", int, tw, 1)
            _want(transport, "baud", int, tw, 115200)
            _want(transport, "tx", int, tw)
            _want(transport, "rx", int, tw)
        elif kind == "wifi":
            _want(transport, "ssid", str, tw)
            if not isinstance(transport.get("password", ""), str):
                raise ConfigError("%s: password must be a string" % tw)
            _want(transport, "gateway_host", str, tw)
            _want(transport, "gateway_port", int, tw)
        elif kind == "tcp-listen":
            _want(transport, "host", str, tw, "127.0.0.1")
            _want(transport, "port", int, tw)
        self.transport = transport
        limits = data.get("limits", {})
        if not isinstance(limits, dict):
            raise ConfigError("%s: limits must be an object" % where)
        try:
            profile = load_profile(self.profile, profiles)
        except ProfileError as exc:
            raise ConfigError("%s: %s" % (where, exc))
        try:
            self.limits = profile.lowered(limits, where)
        except ProfileError as exc:
            raise ConfigError(str(exc))
        self.board_name = profile.board
        self.chip = profile.chip
        self.pins = profile.pins
        self.maps_modules = profile.maps_modules


def load_config(path, profiles=PROFILES):
    """Read and check the config file at `path`; raises ConfigError with a one-line reason."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        raise ConfigError("%s: not found; provision the board with a config file" % path)
    try:
        data = json.loads(text)
    except ValueError:
        raise ConfigError("%s: not valid JSON" % path)
    return BoardConfig(data, path, profiles)
