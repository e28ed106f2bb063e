"""SHA-256 and HMAC-SHA256 on all three interpreters (HMAC by hand: MicroPython has no hmac)."""

import hashlib

BLOCK = 64
DIGEST = 32

try:
    sha256 = hashlib.sha256
except AttributeError:
    def sha256(data=b""):
        """A SHA-256 hash object: CircuitPython's hashlib has new(name, data) only."""
        return hashlib.new("sha256", data)


class HmacKey:
    """A key with its inner and outer pads computed once, for many MACs.

    MicroPython's sha256 objects have no copy(), so each MAC hashes the 64-byte pads again
    instead of cloning a pre-fed state.
    """

    def __init__(self, key):
        if len(key) > BLOCK:
            key = sha256(key).digest()
        key = bytes(key) + bytes(BLOCK - len(key))
        self._inner = bytes(b ^ 0x36 for b in key)
        self._outer = bytes(b ^ 0x5C for b in key)

    def digest(self, a, b=b"", c=b""):
        """HMAC-SHA256 of the message a+b+c."""
        inner = sha256(self._inner)
        inner.update(a)
        if b:
            inner.update(b)
        if c:
            inner.update(c)
        outer = sha256(self._outer)
        outer.update(inner.digest())
        return outer.digest()


def hmac_sha256(key, message):
    return HmacKey(key).digest(message)


def same(a, b):
    """Compare two MACs in time independent of where they differ."""
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0
