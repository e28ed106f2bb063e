"""Find a module's wascap claims and compute its wascap hash in one streaming pass."""

import binascii
import json

from edgelink import hmac256
from edgemodule.wasmsections import CUSTOM_SECTION, SectionReader

CLAIMS_SECTIONS = ("jwt", "wasmcloud_jwt")  # older tools write the first, newer the second
MAX_TOKEN = 16384  # bytes a claims section may hold; real tokens are well under 2 KB
TOKEN_HEADER = {"typ": "jwt", "alg": "Ed25519"}
TOKEN_HEADER_TEXT = '{"typ":"jwt","alg":"Ed25519"}'

# The checks a module's claims can fail, as named in error messages.
NO_CLAIMS = "no claims"
MALFORMED = "malformed token"
WRONG_ALGORITHM = "wrong algorithm"
CONFLICTING = "conflicting claims"
BAD_ISSUER = "bad issuer"
BAD_SIGNATURE = "bad signature"
NOT_YET_VALID = "not yet valid"
EXPIRED = "expired"
HASH_MISMATCH = "hash mismatch"


class ClaimsError(ValueError):
    """Claims failed one check; `check` names it, the message says what was wrong."""

    def __init__(self, check, detail):
        super().__init__(check + ": " + detail)
        self.check = check


def hex_upper(digest):
    return binascii.hexlify(digest).decode().upper()


def scan(stream, size=None, out=None, chunk_size=512, max_token=MAX_TOKEN, read_token=True):
    """Stream over a module once; return (module_hash, token).

    module_hash is the upper-hex SHA-256 of the module with every claims section record
    (id, size, name and payload) cut out byte for byte; token is the claims JWT text, or
    None when the module has none. When `out` is given, the module without its claims
    sections is written to it as it is read. With read_token False, claims sections are
    skipped unread (to replace them). Raises WasmFormatError or ClaimsError.
    """
    reader = SectionReader(stream, size, chunk_size)
    head = reader.read_header()
    digest = hmac256.sha256(head)
    if out is not None:
        out.write(head)
    token = None
    while True:
        section = reader.next_section()
        if section is None:
            break
        section_id, header, payload_size, name = section
        if section_id == CUSTOM_SECTION and name in CLAIMS_SECTIONS:
            if not read_token:
                continue
            found = _read_token(reader, name, payload_size, max_token)
            if token is not None and found != token:
                raise ClaimsError(
                    CONFLICTING,
                    "the module holds two different claims tokens (second in section %r at "
                    "offset %d)" % (name, reader.section_offset),
                )
            token = found
            continue
        digest.update(header)
        if out is not None:
            out.write(header)
        for chunk in reader.chunks():
            digest.update(chunk)
            if out is not None:
                out.write(chunk)
    return hex_upper(digest.digest()), token


def _read_token(reader, name, payload_size, max_token):
    if payload_size > max_token:
        raise ClaimsError(
            MALFORMED,
            "claims section %r at offset %d holds %d bytes, more than the %d-byte limit"
            % (name, reader.section_offset, payload_size, max_token),
        )
    raw = reader.read()
    try:
        return str(raw, "utf-8")
    except Exception:
        raise ClaimsError(
            MALFORMED, "claims section %r at offset %d is not UTF-8 text"
            % (name, reader.section_offset)
        )


def b64url_decode(segment):
    """Decode base64url with or without padding; raises ValueError on bad input."""
    text = segment.replace("-", "+").replace("_", "/")
    return binascii.a2b_base64(text + "=" * (-len(text) % 4))


def _json_segment(segment, what):
    try:
        return json.loads(str(b64url_decode(segment), "utf-8"))
    except Exception:
        # base64, UTF-8 and JSON errors differ between ports; all mean the same here
        raise ClaimsError(MALFORMED, "the %s segment is not base64url-encoded JSON" % what)


def decode_token(token):
    """Return (header, claims) of a compact JWT, without checking its signature.

    The board cannot check Ed25519 signatures; the gateway does (see edgegate.wascap).
    """
    segments = token.split(".")
    if len(segments) != 3:
        raise ClaimsError(
            MALFORMED, "a JWT has 3 dot-separated segments, this one has %d" % len(segments)
        )
    header = _json_segment(segments[0], "header")
    if header != TOKEN_HEADER:
        raise ClaimsError(
            WRONG_ALGORITHM,
            "token header is %s, expected %s" % (json.dumps(header), TOKEN_HEADER_TEXT),
        )
    claims = _json_segment(segments[1], "claims")
    if not isinstance(claims, dict):
        raise ClaimsError(MALFORMED, "the claims segment is not a JSON object")
    return header, claims


def claimed_hash(claims):
    """The module hash that claims name, upper-cased; raises ClaimsError if absent."""
    meta = claims.get("wascap")
    if not isinstance(meta, dict) or not isinstance(meta.get("hash"), str):
        raise ClaimsError(MALFORMED, "the claims carry no wascap.hash string")
    return meta["hash"].upper()


def check_module(stream, size=None, chunk_size=512):
    """The board's check before it runs a module: its hash must be the one its claims name.

    Returns the claims. Signature and validity times are checked by the gateway.
    """
    return check_module_claims(stream, size, None, chunk_size)[0]


def check_module_claims(stream, size=None, token=None, chunk_size=512):
    """check_module against `token` (sent with the module) or, when None, the module's own
    claims section; returns (claims, token)."""
    module_hash, embedded = scan(stream, size, None, chunk_size)
    token = token or embedded
    if token is None:
        raise ClaimsError(NO_CLAIMS, "the module has no jwt or wasmcloud_jwt custom section")
    claims = decode_token(token)[1]
    expected = claimed_hash(claims)
    if expected != module_hash:
        raise ClaimsError(HASH_MISMATCH, "module %s vs claims %s" % (module_hash, expected))
    return claims, token
