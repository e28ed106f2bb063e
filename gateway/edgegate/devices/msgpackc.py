"""msgpack in C for the gateway's end of the link, shaped as edgelink.mpack's packb/unpackb.

The board keeps mpack (pure Python, a few hundred bytes of heap); on the gateway the `msgpack`
package's C code does the same work in a tenth of the time. It takes and gives exactly what mpack
does, and refuses what mpack refuses, with MpackError: the link's subset of types (no ext types,
no timestamps), 64-bit integers, 32-bit lengths, scalar map keys, nesting to MAX_DEPTH, UTF-8
strings, one value that fills the data. Map keys keep their order instead of being sorted: the
bytes may differ from mpack's, the values they decode to do not.
"""

from __future__ import annotations

from typing import Any

import msgpack

from edgelink.mpack import MAX_DEPTH, MpackError

# what the subset holds: the types unpackb gives, and what packb takes besides
_SCALARS = frozenset((type(None), bool, int, float, str, bytes))
_PACKED_SCALARS = (int, float, str, bytes, bytearray, memoryview)
_CONTAINERS = (list, tuple, dict)
_EXT = frozenset((msgpack.ExtType, msgpack.Timestamp))  # mpack has neither
_DEEP = "msgpack: nesting deeper than %d" % MAX_DEPTH

_packer = msgpack.Packer(use_bin_type=True)


def _check(container: Any, depth: int) -> None:
    """Refuse what mpack refuses in a container at `depth`: deeper nesting, other types.
    The value itself is checked as the one item of a container at depth -1."""
    if depth >= MAX_DEPTH and (depth > MAX_DEPTH or container):
        raise MpackError(_DEEP)  # mpack counts a scalar inside as one level more
    items = container.items() if isinstance(container, dict) else (container,)
    for group in items:
        for item in group:
            kind = type(item)
            if kind in _SCALARS:
                continue
            if kind not in _EXT and isinstance(item, _CONTAINERS):
                _check(item, depth + 1)
            elif kind in _EXT or not isinstance(item, _PACKED_SCALARS):
                raise MpackError("msgpack: a %s is not in the link's subset" % kind.__name__)


def packb(obj: Any) -> bytes:
    """Encode obj as mpack.packb does; MpackError for what is outside the link's subset."""
    if type(obj) not in _SCALARS:
        _check((obj,), -1)
    try:
        return _packer.pack(obj)
    except (TypeError, ValueError, OverflowError) as exc:  # and UnicodeEncodeError
        raise MpackError("msgpack: %s" % exc) from None


def _refuse_ext(code: int, data: bytes) -> Any:
    raise MpackError("msgpack: ext type %d is not in the link's subset" % code)


def unpackb(data: bytes) -> Any:
    """Decode one msgpack value that fills data exactly; MpackError on anything else."""
    try:
        value = msgpack.unpackb(data, raw=False, strict_map_key=False, ext_hook=_refuse_ext)
    except MpackError:
        raise
    except (TypeError, ValueError) as exc:  # truncated, extra data, bad UTF-8, list as key
        raise MpackError("msgpack: %s" % (str(exc) or type(exc).__name__)) from None
    if type(value) not in _SCALARS:
        _check((value,), -1)
    return value


CODEC = (packb, unpackb)
