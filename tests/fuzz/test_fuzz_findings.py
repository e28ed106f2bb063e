"""What fuzzing found, each pinned by the input that showed it."""

from __future__ import annotations

import pytest

from edgegate.rpc.invocation import Entity, EnvelopeError, Invocation, InvocationResponse


@pytest.mark.parametrize("kind", [Invocation, InvocationResponse])
def test_an_envelope_with_maps_nested_hundreds_deep_is_refused_in_one_line(kind):
    # msgpack reads up to 1024 levels; decoding the maps inside recursed past the stack and
    # the gateway's invocation task died without an answer
    deep = b"\x81\xa6origin" + b"\x81\xa1a" * 600 + b"\xc0"
    with pytest.raises(EnvelopeError) as refused:
        kind.unpack(deep)
    assert str(refused.value).endswith("maps nested deeper than 8 levels")


def test_entities_and_trace_context_as_deep_as_they_really_are_still_decode():
    sent = Invocation(Entity.actor("M" + "A" * 55), Entity.actor("M" + "B" * 55), "Echo", b"hi",
                      trace_context={"traceparent": "00-1-2-01"})
    inv = Invocation.unpack(sent.pack())
    assert inv.origin == sent.origin
    assert inv.trace_context == {"traceparent": "00-1-2-01"}
