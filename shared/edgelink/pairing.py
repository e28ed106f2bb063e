"""The rules for a board's identity on the link: its id and its pairing key, checked here only."""

MAX_BOARD_ID = 64
KEY_BYTES = 32
BOARD_ID_RULE = "board_id must be a string of 1 to %d bytes" % MAX_BOARD_ID
KEY_RULE = "pairing_key must be %d hex digits (%d bytes)" % (KEY_BYTES * 2, KEY_BYTES)
NATIVE_KEY_RULE = "native_key must be %d hex digits (%d bytes)" % (KEY_BYTES * 2, KEY_BYTES)


class PairingError(ValueError):
    """A board id or pairing key breaks its rule; the message is the rule."""


def board_id_bytes(board_id):
    """The board id as bytes; PairingError unless it is 1 to MAX_BOARD_ID bytes."""
    if isinstance(board_id, str):
        board_id = board_id.encode()
    if not isinstance(board_id, (bytes, bytearray)) or not 0 < len(board_id) <= MAX_BOARD_ID:
        raise PairingError(BOARD_ID_RULE)
    return bytes(board_id)


def pairing_key(value, rule=KEY_RULE):
    """The 32-byte key from its 64 hex digits (or the bytes themselves); PairingError (with
    `rule`) if not. The native-code key follows the same rule."""
    if isinstance(value, str):
        try:
            value = bytes.fromhex(value)
        except ValueError:
            value = b""
    if not isinstance(value, (bytes, bytearray)) or len(value) != KEY_BYTES:
        raise PairingError(rule)
    return bytes(value)
