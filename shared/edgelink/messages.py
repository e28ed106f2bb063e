"""The message catalogue: one msgpack map per purpose, each with a type `t` and request id `id`.

A message that carries bulk bytes (a module, a payload) has them in `body`, or, when too large
for one frame, announces `size` and `sha256` and the bytes follow in `chunk` messages.
"""

from edgelink.mpack import MpackError, unpackb

# field type codes
STR = "str"
INT = "int"
BIN = "bin"
MAP = "map"
LIST = "list"

# t -> required fields; `True` after them marks a message that carries a body
CATALOGUE = {
    # board -> gateway, first message of a session; the gateway answers with ready
    "hello": ((("board", STR), ("firmware", STR), ("engine", STR), ("profile", STR),
               ("max_frame", INT), ("window", INT), ("free_mem", INT), ("free_flash", INT),
               ("actors", MAP)), False),
    "ready": ((("host", STR), ("max_frame", INT), ("window", INT)), False),
    # gateway -> board requests and the board's replies
    "install": ((("actor", STR), ("sha256", BIN)), True),
    "installed": ((("actor", STR), ("sha256", BIN)), False),
    "remove": ((("actor", STR),), False),
    "removed": ((("actor", STR),), False),
    "swap": ((("actor", STR), ("sha256", BIN)), True),
    "swapped": ((("actor", STR), ("sha256", BIN)), False),
    "invoke": ((("actor", STR), ("op", STR), ("origin", STR)), True),
    "invoke_result": ((), True),
    "get_claims": ((("actor", STR),), False),
    "claims": ((("actor", STR),), True),
    # board -> gateway requests and the gateway's replies
    "host_call": ((("actor", STR), ("binding", STR), ("namespace", STR), ("op", STR)), True),
    "host_result": ((), True),
    # board -> gateway reports, no reply
    "health": ((("free_mem", INT), ("free_flash", INT), ("uptime_ms", INT),
                ("actors", MAP)), False),
    "log": ((("level", STR), ("text", STR)), False),
    "event": ((("kind", STR), ("data", MAP)), False),
    # either way
    "ping": ((), False),
    "pong": ((), False),
    "error": ((("code", STR), ("message", STR)), False),
    # chunked bodies, handled by the link itself
    "chunk": ((("at", INT), ("data", BIN)), False),
    "chunk_ack": ((("at", INT),), False),
    "abort": ((("reason", STR),), False),
}

# error codes
UNKNOWN_TYPE = "unknown_type"
MALFORMED = "malformed"
TOO_LARGE = "too_large"
DIGEST = "digest_mismatch"
ABORTED = "aborted"
BUSY = "busy"
STORE = "store"

MAX_ID = 0x7FFFFFFF


class MessageError(ValueError):
    """A message broke a rule of the catalogue; `code` is the error code to reply with."""

    def __init__(self, code, text, request_id=0):
        super().__init__(text)
        self.code = code
        self.request_id = request_id


def _type_ok(value, kind):
    if kind == STR:
        return isinstance(value, str)
    if kind == INT:
        # bool is an int on CPython but not on MicroPython: refuse it everywhere
        return isinstance(value, int) and value is not True and value is not False
    if kind == BIN:
        return isinstance(value, bytes)
    if kind == MAP:
        return isinstance(value, dict)
    return isinstance(value, list)


def carries_body(t):
    entry = CATALOGUE.get(t)
    return entry is not None and entry[1]


def check(msg):
    """Raise MessageError unless msg is a well-formed message of the catalogue."""
    if not isinstance(msg, dict):
        raise MessageError(MALFORMED, "message is a %s, not a map" % type(msg).__name__)
    request_id = msg.get("id")
    if not _type_ok(request_id, INT) or not 0 <= request_id <= MAX_ID:
        raise MessageError(MALFORMED, "message id %r is not an integer 0..%d"
                           % (request_id, MAX_ID))
    t = msg.get("t")
    entry = CATALOGUE.get(t) if isinstance(t, str) else None
    if entry is None:
        raise MessageError(UNKNOWN_TYPE, "unknown message type %s" % _short(t), request_id)
    fields, has_body = entry
    for name, kind in fields:
        if not _type_ok(msg.get(name), kind):
            raise MessageError(MALFORMED, "%s: field %r must be %s, got %s"
                               % (t, name, kind, _short(msg.get(name))), request_id)
    if has_body and "body" not in msg:
        if not _type_ok(msg.get("size"), INT) or msg["size"] < 0:
            raise MessageError(MALFORMED, "%s: needs a body or a size" % t, request_id)
        if not _type_ok(msg.get("sha256"), BIN) or len(msg["sha256"]) != 32:
            raise MessageError(MALFORMED, "%s: a chunked body needs a 32-byte sha256" % t,
                               request_id)
    elif has_body and not _type_ok(msg["body"], BIN):
        raise MessageError(MALFORMED, "%s: body must be bin" % t, request_id)
    if "sha256" in msg and not (_type_ok(msg["sha256"], BIN) and len(msg["sha256"]) == 32):
        raise MessageError(MALFORMED, "%s: sha256 must be 32 bytes" % t, request_id)
    if "link" in msg and not _type_ok(msg["link"], STR):
        raise MessageError(MALFORMED, "%s: field 'link' must be str, got %s"
                           % (t, _short(msg["link"])), request_id)
    return msg


def _short(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def decode(body):
    """Decode and check one message body; raise MessageError on anything malformed."""
    try:
        msg = unpackb(body)
    except MpackError as exc:
        raise MessageError(MALFORMED, str(exc))
    return check(msg)


def error(request_id, code, text):
    return {"t": "error", "id": request_id, "code": code, "message": text}
