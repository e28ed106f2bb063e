"""A translation's binding: what the native-code key signs, spelled the same on gateway and board.

A translation (an actor turned into a MicroPython native module by the gateway) is run only
for the module, architecture, .mpy version, firmware and compiled-in limits it was made for;
the binding names each of them and the .mpy's own SHA-256, and its HMAC-SHA256 under the
board's native-code key is the signature the board checks.
"""

from edgelink import hmac256

# MicroPython's native architectures, by the number a .mpy header and sys.implementation._mpy
# carry (py/persistentcode.h)
ARCHES = ("none", "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp",
          "armv7emdp", "xtensa", "xtensawin", "rv32imc", "rv64imc")
# the binding's fields, in the order they are signed
FIELDS = ("module", "arch", "mpy", "firmware", "limits", "native")


class TranslationRefused(Exception):
    """A translation does not match this board or its key; the message says which field."""


def arch_name(number):
    return ARCHES[number] if 0 <= number < len(ARCHES) else "arch%d" % number


def mpy_facts(header):
    """(architecture, .mpy version) a .mpy file's first 3 bytes say; TranslationRefused when
    they are not a .mpy header."""
    if len(header) < 3 or header[0] != 0x4D:  # "M"
        raise TranslationRefused("not a .mpy file")
    return arch_name(header[2] >> 2), "%d.%d" % (header[1], header[2] & 3)


def runtime_facts(mpy_number):
    """(architecture, .mpy version) of a runtime from its sys.implementation._mpy."""
    return arch_name(mpy_number >> 10), "%d.%d" % (mpy_number & 0xFF, (mpy_number >> 8) & 3)


def binding(fields):
    """The bytes signed: each of FIELDS from the dict `fields`, one per line."""
    return "\n".join(["edgehost translation 1"]
                     + ["%s=%s" % (name, fields[name]) for name in FIELDS]).encode()


def sign(key, fields):
    return hmac256.hmac_sha256(key, binding(fields))


def check(key, fields, signature, expected):
    """Raise TranslationRefused unless every field in `expected` equals its value in `fields`
    and `signature` is `fields` signed with `key`."""
    for name in FIELDS:
        if not isinstance(fields.get(name), str):
            raise TranslationRefused("binding: %s is missing" % name)
        if name in expected and fields.get(name) != expected[name]:
            raise TranslationRefused("%s %s, this board needs %s"
                                     % (name, _short(fields.get(name)), _short(expected[name])))
    if not isinstance(signature, bytes) or not hmac256.same(sign(key, fields), signature):
        raise TranslationRefused("signature: not made with this board's native-code key")


def _short(value):
    text = str(value)
    return text[:12] if len(text) == 64 else text
