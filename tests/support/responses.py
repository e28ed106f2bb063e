"""The gateway's invocation responses as the tests read them: refused first by latticekit's
decoder, as strict as wasmCloud's Go provider SDK (a `msg` that is not a msgpack str fails),
then read with the gateway's own `InvocationResponse` for its handy fields."""

from __future__ import annotations

from latticekit.invocations import unpack_response

from edgegate.rpc.invocation import InvocationResponse


def read_response(data: bytes) -> InvocationResponse:
    unpack_response(data)
    return InvocationResponse.unpack(data)
