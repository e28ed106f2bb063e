"""A short fuzz run of every pure decoder: random bytes and mutated valid inputs, a few
hundred each; the long run is tools/fuzz/run.py (docs/RELIABILITY.md, Fuzzing)."""

from __future__ import annotations

import io
from functools import cache

import fuzzseeds
import pytest
from fuzztargets import MAX_FRAME, TARGETS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgegate.rpc.invocation import EnvelopeError, Invocation, InvocationResponse
from edgegate.wascap import tokens
from edgegate.wascap.modules import SignedModule
from edgelink import messages, mpack
from edgelink.frame import FrameReader
from edgemodule.claimcheck import scan
from edgemodule.fit import HOST_FUNCTIONS
from edgemodule.wasminspect import inspect_bytes

EXAMPLES = 300


@cache
def seeds() -> dict[str, list[bytes]]:
    return fuzzseeds.seeds()


def inputs(name: str) -> st.SearchStrategy[bytes]:
    mutated = st.builds(fuzzseeds.mutate, st.sampled_from(seeds()[name]),
                        st.randoms(use_true_random=False))
    return st.one_of(st.binary(max_size=512), mutated)


def nested(name: str) -> st.SearchStrategy[bytes]:
    # deep enough to break the stack of a decoder that recurses without a bound
    return st.builds(fuzzseeds.nest, st.sampled_from(seeds()[name]), st.integers(300, 1200),
                     st.randoms(use_true_random=False))


def fuzz(name: str, strategy: st.SearchStrategy[bytes], examples: int) -> None:
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(strategy)
    def run(data: bytes) -> None:
        TARGETS[name](data)

    run()


@pytest.mark.parametrize("name", list(TARGETS))
def test_a_decoder_refuses_bad_input_with_its_own_error_and_nothing_else(name):
    fuzz(name, inputs(name), EXAMPLES)


@pytest.mark.parametrize("name", list(TARGETS))
def test_a_decoder_refuses_deeply_nested_input_without_breaking_the_stack(name):
    fuzz(name, nested(name), EXAMPLES // 3)


def decodes(name: str, data: bytes) -> bool:
    """Whether the decoder under `name` accepts `data` as valid (no error at all)."""
    try:
        if name == "frame_decoder":
            return bool(list(FrameReader(MAX_FRAME).feed(data)))
        if name == "message_decoder":
            messages.decode(data)
        elif name == "msgpack_codec":
            mpack.unpackb(data)
        elif name == "wasm_sections":
            scan(io.BytesIO(data), len(data))
        elif name == "wasm_inspector":
            inspect_bytes(data).check(HOST_FUNCTIONS, 16)
        elif name == "jwt_claims":
            if data.startswith(b"\x00asm"):
                SignedModule(data).verify()
            else:
                tokens.verify(data.decode())
        else:
            try:
                Invocation.unpack(data)
            except EnvelopeError:
                InvocationResponse.unpack(data)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("name", list(TARGETS))
def test_every_seed_is_valid_input_so_mutations_start_past_the_first_checks(name):
    refused = [seed[:40] for seed in seeds()[name] if not decodes(name, seed)]
    assert refused == []
