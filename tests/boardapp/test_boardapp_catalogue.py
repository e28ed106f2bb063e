"""The board answers as the message catalogue says: each request the gateway sends gets its
reply, or an error whose code the catalogue names for that request."""

from __future__ import annotations

import hashlib

from support.gateway import tcp_gateway

from edgelink import messages

NOBODY = "M" + "Q" * 55  # an actor no board holds
NOT_WASM = b"not a module"

# one request of each type the gateway sends, as the board must refuse it
REFUSED = {
    "install": ({"t": "install", "actor": NOBODY, "sha256": hashlib.sha256(NOT_WASM).digest()},
                NOT_WASM),
    "swap": ({"t": "swap", "actor": NOBODY, "sha256": hashlib.sha256(NOT_WASM).digest()},
             NOT_WASM),
    "remove": ({"t": "remove", "actor": NOBODY}, None),
    "invoke": ({"t": "invoke", "actor": NOBODY, "op": "Echo", "origin": ""}, b""),
    "contract_call": ({"t": "contract_call", "contract": "edgehost:gpio", "op": "Gpio.Toggle"},
                      b""),
    "get_claims": ({"t": "get_claims", "actor": NOBODY}, None),
    "native": ({"t": "native", "actor": NOBODY, "binding": {}, "sig": bytes(32)}, b"M"),
}


def test_every_request_type_the_gateway_sends_is_tried_here():
    sent = {t for t in messages.CATALOGUE
            if messages.sender(t) == messages.GATEWAY and messages.role(t) == messages.REQUEST}
    assert set(REFUSED) == sent


async def test_a_refused_request_gets_an_error_code_the_catalogue_names_for_it(board_thread):
    board = board_thread()
    async with tcp_gateway(board.url) as gw:
        for t, (msg, body) in REFUSED.items():
            reply = await gw.request(dict(msg), body)
            assert reply["t"] == "error", (t, reply)
            assert reply["code"] in messages.error_codes(t), (t, reply)


async def test_a_served_request_gets_a_reply_the_catalogue_says_the_board_sends(board_thread,
                                                                               sign):
    board = board_thread()
    echo = sign("echo")
    async with tcp_gateway(board.url) as gw:
        replies = [await gw.request(echo.install(), echo.module),
                   await gw.invoke(echo.key, "Echo", b"x"),
                   await gw.request({"t": "get_claims", "actor": echo.key}),
                   await gw.request({"t": "remove", "actor": echo.key})]
        assert [reply["t"] for reply in replies] == ["installed", "invoke_result", "claims",
                                                     "removed"]
        assert all(messages.is_reply(reply["t"], messages.BOARD) for reply in replies)
