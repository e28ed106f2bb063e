"""Stand-in for CircuitPython's hashlib (shared-bindings/hashlib): `new(name, data)` only."""

from _builtin import builtin

_hashlib = builtin("hashlib")
_SIZES = {"sha1": 20, "sha256": 32}


class Hash:
    """shared-bindings/hashlib/Hash.c: made by new(), with update(), digest(), digest_size."""

    def __init__(self, hasher, digest_size):
        self._hasher = hasher
        self.digest_size = digest_size

    def update(self, data):
        self._hasher.update(data)

    def digest(self):
        return self._hasher.digest()


def new(name, data=b""):
    if name not in _SIZES or not hasattr(_hashlib, name):
        raise ValueError("Unsupported hash algorithm")
    return Hash(getattr(_hashlib, name)(data), _SIZES[name])
