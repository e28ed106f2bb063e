"""The message catalogue: who sends each message of the link, what it is, what it carries.

Every message is one msgpack map with a type `t` and a request id `id`. A message that carries
bulk bytes (a module, a payload) has them in `body`, or, when too large for one frame, announces
`size` and `sha256` and the bytes follow in `chunk` messages.
"""

from edgelink.mpack import MpackError, unpackb

# field type codes
STR = "str"
INT = "int"
BIN = "bin"
MAP = "map"
LIST = "list"

# who sends a message
BOARD = "board"
GATEWAY = "gateway"
EITHER = "either"

# what a message is
REQUEST = "request"  # its sender waits for one reply with its id: the request's own, or error
REPLY = "reply"
REPORT = "report"  # nothing answers it
SESSION = "session"  # hello and ready: each end's limits, at the start of every session
LINK = "link"  # moves a body in chunks; the link handles it itself

# flags
BODY = 1  # carries bytes (see above)
ONCE = 2  # a request with an effect: a repeat of one link's request is answered, not run again

# error codes the link itself replies with, to any message
UNKNOWN_TYPE = "unknown_type"
MALFORMED = "malformed"
TOO_LARGE = "too_large"
DIGEST = "digest_mismatch"
ABORTED = "aborted"
BUSY = "busy"
STORE = "store"
# the board's
REFUSED = "refused"
UNKNOWN_ACTOR = "unknown_actor"
GUEST_ERROR = "guest_error"
TRAP = "trap"
FAILED = "failed"
TOO_LARGE_TO_KEEP = "too_large_to_keep"  # a ONCE request's reply too large to remember
# the gateway's
HOST_CALL = "host_call"  # the lattice could not serve the call
NO_LATTICE = "no_lattice"  # a gateway without a lattice serves no host calls

# t -> (sender, what it is, required fields, flags, error codes of its own)
CATALOGUE = {
    "hello": (BOARD, SESSION, (("board", STR), ("firmware", STR), ("engine", STR),
                               ("profile", STR), ("max_frame", INT), ("window", INT),
                               ("free_mem", INT), ("free_flash", INT), ("actors", MAP)), 0, ()),
    "ready": (GATEWAY, SESSION, (("host", STR), ("max_frame", INT), ("window", INT)), 0, ()),
    "install": (GATEWAY, REQUEST, (("actor", STR), ("sha256", BIN)), BODY | ONCE,
                (REFUSED, STORE)),
    "installed": (BOARD, REPLY, (("actor", STR), ("sha256", BIN)), 0, ()),
    "remove": (GATEWAY, REQUEST, (("actor", STR),), ONCE, (UNKNOWN_ACTOR,)),
    "removed": (BOARD, REPLY, (("actor", STR),), 0, ()),
    "swap": (GATEWAY, REQUEST, (("actor", STR), ("sha256", BIN)), BODY | ONCE,
             (UNKNOWN_ACTOR, REFUSED, STORE)),
    "swapped": (BOARD, REPLY, (("actor", STR), ("sha256", BIN)), 0, ()),
    # an actor on the board; `origin` is the caller's key ("" for the command line), and a
    # provider names the contract it calls for in `origin_contract`
    "invoke": (GATEWAY, REQUEST, (("actor", STR), ("op", STR), ("origin", STR)), BODY | ONCE,
               (UNKNOWN_ACTOR, REFUSED, GUEST_ERROR, TRAP, FAILED, TOO_LARGE)),
    # one of the board's own contracts, called by an actor the gateway has checked
    "contract_call": (GATEWAY, REQUEST, (("contract", STR), ("op", STR)), BODY | ONCE,
                      (REFUSED,)),
    "invoke_result": (BOARD, REPLY, (), BODY, ()),
    "get_claims": (GATEWAY, REQUEST, (("actor", STR),), 0, (UNKNOWN_ACTOR,)),
    "claims": (BOARD, REPLY, (("actor", STR),), BODY, ()),
    "host_call": (BOARD, REQUEST, (("actor", STR), ("binding", STR), ("namespace", STR),
                                   ("op", STR)), BODY, (HOST_CALL, NO_LATTICE)),
    "host_result": (GATEWAY, REPLY, (), BODY, ()),
    "health": (BOARD, REPORT, (("free_mem", INT), ("free_flash", INT), ("uptime_ms", INT),
                               ("actors", MAP)), 0, ()),
    "log": (BOARD, REPORT, (("level", STR), ("text", STR)), 0, ()),
    "event": (BOARD, REPORT, (("kind", STR), ("data", MAP)), 0, ()),
    # answered with pong by the link; a keepalive (id 0) by its acknowledgement alone
    "ping": (EITHER, REQUEST, (), 0, ()),
    "pong": (EITHER, REPLY, (), 0, ()),
    "error": (EITHER, REPLY, (("code", STR), ("message", STR)), 0,
              (UNKNOWN_TYPE, MALFORMED, TOO_LARGE, DIGEST, ABORTED, BUSY, STORE)),
    "chunk": (EITHER, LINK, (("at", INT), ("data", BIN)), 0, ()),
    "chunk_ack": (EITHER, LINK, (("at", INT),), 0, ()),
    "abort": (EITHER, LINK, (("reason", STR),), 0, ()),
}
# fields any message may have, checked when present (sha256 apart: it has a length too)
OPTIONAL = (("link", STR), ("origin_contract", STR))

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


def sender(t):
    """Who sends messages of type t (BOARD, GATEWAY, EITHER); None for an unknown type."""
    entry = CATALOGUE.get(t)
    return entry and entry[0]


def role(t):
    """What a message of type t is (REQUEST, REPLY, REPORT, SESSION, LINK); None if unknown."""
    entry = CATALOGUE.get(t)
    return entry and entry[1]


def is_reply(t, side):
    """Whether t is a reply that `side` (BOARD or GATEWAY) sends to the other's request."""
    entry = CATALOGUE.get(t)
    return entry is not None and entry[1] == REPLY and entry[0] in (side, EITHER)


def error_codes(t):
    """The error codes of type t's own (the link's, in `error`'s entry, apply to any)."""
    entry = CATALOGUE.get(t)
    return entry[4] if entry is not None else ()


def carries_body(t):
    entry = CATALOGUE.get(t)
    return entry is not None and bool(entry[3] & BODY)


def answered_once(t):
    """Whether a request of type t has an effect, so that a repeat must not run it again."""
    entry = CATALOGUE.get(t)
    return entry is not None and bool(entry[3] & ONCE)


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
    fields = entry[2]
    has_body = entry[3] & BODY
    for name, kind in fields:
        _check_field(msg, t, name, kind, request_id)
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
    for name, kind in OPTIONAL:
        if name in msg:
            _check_field(msg, t, name, kind, request_id)
    return msg


def _check_field(msg, t, name, kind, request_id):
    if not _type_ok(msg.get(name), kind):
        raise MessageError(MALFORMED, "%s: field %r must be %s, got %s"
                           % (t, name, kind, _short(msg.get(name))), request_id)


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
