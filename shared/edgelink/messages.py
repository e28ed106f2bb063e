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

# what else a message is ("body", "once" or both, in its entry's flags)
BODY = "body"  # it carries bytes (see above)
ONCE = "once"  # a request with an effect: a repeat of one link's request is answered, not run

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
#
# Spelled in literals, each one of the names above: a frozen module keeps a tuple of literals in
# flash whole, where one that names a variable is built in RAM when the module is imported.
CATALOGUE = {
    # board -> gateway, first message of a session; the gateway answers with ready (a board
    # that takes native code adds `native`, edgehost.native's report)
    "hello": ("board", "session", (("board", "str"), ("firmware", "str"), ("engine", "str"),
                                   ("profile", "str"), ("max_frame", "int"), ("window", "int"),
                                   ("free_mem", "int"), ("free_flash", "int"),
                                   ("actors", "map")), "", ()),
    "ready": ("gateway", "session", (("host", "str"), ("max_frame", "int"), ("window", "int")),
              "", ()),
    # gateway -> board requests and the board's replies
    "install": ("gateway", "request", (("actor", "str"), ("sha256", "bin")), "body once",
                ("refused", "store")),
    "installed": ("board", "reply", (("actor", "str"), ("sha256", "bin")), "", ()),
    "remove": ("gateway", "request", (("actor", "str"),), "once", ("unknown_actor",)),
    "removed": ("board", "reply", (("actor", "str"),), "", ()),
    "swap": ("gateway", "request", (("actor", "str"), ("sha256", "bin")), "body once",
             ("unknown_actor", "refused", "store")),
    "swapped": ("board", "reply", (("actor", "str"), ("sha256", "bin")), "", ()),
    # an actor on the board; `origin` is the caller's key ("" for the command line), and a
    # provider names the contract it calls for in `origin_contract`
    "invoke": ("gateway", "request", (("actor", "str"), ("op", "str"), ("origin", "str")),
               "body once",
               ("unknown_actor", "refused", "guest_error", "trap", "failed", "too_large")),
    # one of the board's own contracts, for an actor the gateway has checked
    "contract_call": ("gateway", "request", (("contract", "str"), ("op", "str")), "body once",
                      ("refused",)),
    "invoke_result": ("board", "reply", (), "body", ()),
    "get_claims": ("gateway", "request", (("actor", "str"),), "", ("unknown_actor",)),
    # an installed actor's translation to native code (the body, a .mpy) and its signed
    # binding (edgemodule.translation); the board answers installed with the engine it runs
    "native": ("gateway", "request", (("actor", "str"), ("binding", "map"), ("sig", "bin")),
               "body once", ("unknown_actor", "refused")),
    "claims": ("board", "reply", (("actor", "str"),), "body", ()),
    # board -> gateway requests and the gateway's replies
    "host_call": ("board", "request", (("actor", "str"), ("binding", "str"),
                                       ("namespace", "str"), ("op", "str")), "body",
                  ("host_call", "no_lattice")),
    "host_result": ("gateway", "reply", (), "body", ()),
    # board -> gateway reports
    "health": ("board", "report", (("free_mem", "int"), ("free_flash", "int"),
                                   ("uptime_ms", "int"), ("actors", "map")), "", ()),
    "log": ("board", "report", (("level", "str"), ("text", "str")), "", ()),
    "event": ("board", "report", (("kind", "str"), ("data", "map")), "", ()),
    # either way; the link answers a ping with pong, a keepalive (id 0) with its acknowledgement
    "ping": ("either", "request", (), "", ()),
    "pong": ("either", "reply", (), "", ()),
    "error": ("either", "reply", (("code", "str"), ("message", "str")), "",
              ("unknown_type", "malformed", "too_large", "digest_mismatch", "aborted", "busy",
               "store")),
    # chunked bodies, handled by the link itself
    "chunk": ("either", "link", (("at", "int"), ("data", "bin")), "", ()),
    "chunk_ack": ("either", "link", (("at", "int"),), "", ()),
    "abort": ("either", "link", (("reason", "str"),), "", ()),
}
# fields any message may have, checked when present (sha256 apart: it has a length too)
OPTIONAL = (("link", "str"), ("origin_contract", "str"))

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
    return entry is not None and BODY in entry[3]


def answered_once(t):
    """Whether a request of type t has an effect, so that a repeat must not run it again."""
    entry = CATALOGUE.get(t)
    return entry is not None and ONCE in entry[3]


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
    has_body = BODY in entry[3]
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


def decode(body, codec=None):
    """Decode and check one message body; raise MessageError on anything malformed. codec:
    (packb, unpackb) shaped as mpack's (the gateway's in C), None for mpack itself."""
    try:
        msg = unpackb(body) if codec is None else codec[1](body)
    except MpackError as exc:
        raise MessageError(MALFORMED, str(exc))
    return check(msg)


def error(request_id, code, text):
    return {"t": "error", "id": request_id, "code": code, "message": text}
