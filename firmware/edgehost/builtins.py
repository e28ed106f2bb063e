"""The builtin capability providers a board serves itself: logging and number generation."""

import binascii
import struct

from edgehost import port
from edgelink import mpack

LOGGING = "wasmcloud:builtin:logging"
NUMBERGEN = "wasmcloud:builtin:numbergen"
LEVELS = ("trace", "debug", "info", "warn", "error")


class BuiltinError(Exception):
    """A builtin refused a call; the message is what the calling actor reads as host error."""


def map_arg(payload, operation, fields):
    try:
        args = mpack.unpackb(payload)
    except Exception as exc:
        raise BuiltinError("%s: payload is not msgpack (%s)" % (operation, exc))
    if not isinstance(args, dict):
        raise BuiltinError("%s: payload must be a msgpack map" % operation)
    for name, kind in fields:
        if not isinstance(args.get(name), kind):
            raise BuiltinError("%s: field %s must be a %s" % (operation, name, kind.__name__))
    return args


def _random32():
    return struct.unpack("<I", port.random_bytes(4))[0]


def _guid():
    b = bytearray(port.random_bytes(16))
    b[6] = (b[6] & 0x0F) | 0x40  # version 4
    b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = str(binascii.hexlify(b), "ascii")
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


class Builtins:
    """Serves Logging.WriteLog and NumberGen.* for actors whose claims allow them, and the
    board's own contracts through `hardware` (see edgehost.hardware).

    `log` is called as log(actor_key, level, text) for every line an actor writes.
    """

    def __init__(self, log, hardware=None):
        self._log = log
        self.hardware = hardware

    def serves(self, namespace):
        return (namespace == LOGGING or namespace == NUMBERGEN
                or (self.hardware is not None and self.hardware.serves(namespace)))

    def call(self, actor_key, caps, namespace, operation, payload):
        """Answer one host call; raises BuiltinError with the reason when it is refused."""
        if namespace not in caps:
            raise BuiltinError(
                "actor %s is not allowed to call %s: its claims lack that capability"
                % (actor_key, namespace)
            )
        if namespace != LOGGING and namespace != NUMBERGEN:
            return self.hardware.call(namespace, operation, payload)
        if namespace == LOGGING:
            if operation != "Logging.WriteLog":
                raise BuiltinError("%s has no operation %s" % (LOGGING, operation))
            args = map_arg(payload, operation, (("level", str), ("text", str)))
            level = args["level"].lower()
            self._log(actor_key, level if level in LEVELS else "info", args["text"])
            return b""
        if operation == "NumberGen.GenerateGuid":
            return mpack.packb(_guid())
        if operation == "NumberGen.Random32":
            return mpack.packb(_random32())
        if operation == "NumberGen.RandomInRange":
            args = map_arg(payload, operation, (("min", int), ("max", int)))
            low, high = args["min"], args["max"]
            if low > high or low < 0 or high > 0xFFFFFFFF:
                raise BuiltinError(
                    "%s: need 0 <= min <= max <= 4294967295, got min=%d max=%d"
                    % (operation, low, high)
                )
            return mpack.packb(low + _random32() % (high - low + 1))
        raise BuiltinError("%s has no operation %s" % (NUMBERGEN, operation))
