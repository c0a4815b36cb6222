"""The two hot-path twins agree: same bytes, or the same error class, kind, segment and offset.

Hypothesis feeds the pure-Python and the native back-end the same random keys, states,
payloads and segment sizes (with every size boundary: empty, 1, 15/16/17, 1006/1007/1008), then
tampered segments and malformed or mutated TLV buffers, including the TS.48 profiles. Each
call's outcome is compared whole: the returned value, or the exception's class, ``kind``,
``segment``, ``offset``, message and ``partial`` result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from m2mrsp import backend as selection
from m2mrsp.errors import ScpError, TlvError
from m2mrsp.hotpath.types import MAX_SEGMENT_PLAINTEXT, Scp03tState
from m2mrsp.tlv import encode_length, tag_bytes

pytestmark = pytest.mark.skipif(not selection.HAS_NATIVE, reason=str(selection.NATIVE_ERROR))

h = bytes.fromhex
COUNTER_MAX = (1 << 128) - 1
BOUNDARY_SIZES = [0, 1, 15, 16, 17, 239, 240, 241, 1006, MAX_SEGMENT_PLAINTEXT, 1008]
TAGS = [0x86, 0x87, 0x00, 0x1F20, 0x9F70, 0xBF8101]

keys = st.binary(min_size=16, max_size=16)
counters = st.one_of(
    st.integers(0, 1000), st.integers(0, COUNTER_MAX), st.sampled_from([COUNTER_MAX - 1])
)
states = st.builds(Scp03tState, mcv=keys, counter=counters)
sizes = st.one_of(st.sampled_from(BOUNDARY_SIZES), st.integers(0, 1100))
segment_sizes = st.one_of(
    st.sampled_from([-1, 0, 1, 15, 16, 17, 240, 1006, MAX_SEGMENT_PLAINTEXT, 1008]),
    st.integers(1, MAX_SEGMENT_PLAINTEXT),
)
tags = st.sampled_from(TAGS)
FAST = settings(max_examples=400, deadline=None)


def outcome(call: Callable[..., Any], *args: Any) -> tuple[Any, ...]:
    """What a call did, in a form two back-ends' results can be compared with ``==``."""
    try:
        result = call(*args)
    except ScpError as err:
        return ("ScpError", err.kind, err.segment, err.offset, str(err), err.partial)
    except TlvError as err:
        return ("TlvError", err.kind, err.offset, str(err))
    except (ValueError, OverflowError) as err:
        return (type(err).__name__,)
    if isinstance(result, np.ndarray):
        return ("table", result.dtype, result.tobytes())
    return ("ok", result)


def ciphers(s_enc: bytes, s_mac: bytes, s_rmac: bytes) -> tuple[Any, Any]:
    return (
        selection.get("python").SegmentCipher(s_enc, s_mac, s_rmac),
        selection.get("native").SegmentCipher(s_enc, s_mac, s_rmac),
    )


def same(method: str, pair: tuple[Any, Any], *args: Any) -> tuple[Any, ...]:
    """Call ``method`` on both ciphers; assert equal outcomes and return the pure one."""
    expected = outcome(getattr(pair[0], method), *args)
    assert outcome(getattr(pair[1], method), *args) == expected
    return expected


def same_scan(buf: bytes, max_depth: int = 16) -> tuple[Any, ...]:
    expected = outcome(selection.get("python").scan_tlv, buf, max_depth)
    assert outcome(selection.get("native").scan_tlv, buf, max_depth) == expected
    return expected


# -- wrap and unwrap of valid data -------------------------------------------------------------


@FAST
@given(k=st.tuples(keys, keys, keys), state=states, size=sizes, tag=tags, data=st.data())
def test_segment_round_trip_agrees(
    k: tuple[bytes, bytes, bytes], state: Scp03tState, size: int, tag: int, data: st.DataObject
) -> None:
    pair = ciphers(*k)
    payload = data.draw(st.binary(min_size=size, max_size=size))
    wrapped = same("wrap_segment", pair, state, payload, tag)
    if wrapped[0] == "ok":
        tlv, _ = wrapped[1]
        unwrapped = same("unwrap_segment", pair, state, tlv, tag)
        # A multi-byte tag can push a full segment past the 1020-byte TLV limit.
        assert unwrapped == ("ok", (payload, wrapped[1][1])) or len(tlv) > 1020


@FAST
@given(
    k=st.tuples(keys, keys, keys),
    state=states,
    size=st.one_of(st.sampled_from(BOUNDARY_SIZES), st.integers(0, 5000)),
    segment_size=segment_sizes,
    tag=tags,
    data=st.data(),
)
def test_whole_batch_round_trip_agrees(
    k: tuple[bytes, bytes, bytes],
    state: Scp03tState,
    size: int,
    segment_size: int,
    tag: int,
    data: st.DataObject,
) -> None:
    pair = ciphers(*k)
    payload = data.draw(st.binary(min_size=size, max_size=size))
    wrapped = same("wrap_all", pair, state, payload, segment_size, tag)
    if wrapped[0] == "ok":
        blob = b"".join(wrapped[1].tlvs)
        unwrapped = same("unwrap_all", pair, state, blob, tag)
        if unwrapped[0] == "ok":
            assert b"".join(unwrapped[1].plaintexts) == payload


@FAST
@given(k=st.tuples(keys, keys, keys), state=states, size=sizes, tag=tags, data=st.data())
def test_responses_agree(
    k: tuple[bytes, bytes, bytes], state: Scp03tState, size: int, tag: int, data: st.DataObject
) -> None:
    pair = ciphers(*k)
    payload = data.draw(st.binary(min_size=size, max_size=size))
    wrapped = same("wrap_response", pair, state, payload, tag)
    if wrapped[0] == "ok":
        tlv = wrapped[1]
        same("unwrap_response", pair, state, tlv, tag)
        same("unwrap_response", pair, state, data.draw(_mutated(tlv)), tag)


def test_one_cipher_pair_stays_in_step_over_many_calls() -> None:
    """Internal chaining (the open CBC contexts) never leaks between calls on one instance."""
    pair = ciphers(bytes(range(16)), bytes(range(16, 32)), bytes(range(32, 48)))
    state = Scp03tState(bytes(16), 0)
    for size in BOUNDARY_SIZES * 3:
        payload = bytes((size * 7 + i) & 0xFF for i in range(min(size, MAX_SEGMENT_PLAINTEXT)))
        kind, (tlv, next_state) = same("wrap_segment", pair, state, payload)
        assert same("wrap_response", pair, next_state, payload[:size // 2])[0] == "ok"
        assert same("unwrap_segment", pair, state, tlv) == ("ok", (payload, next_state))
        same("unwrap_segment", pair, state, tlv[:-1] + bytes([tlv[-1] ^ 1]))
        state = next_state


@pytest.mark.parametrize("counter", [COUNTER_MAX - 1, COUNTER_MAX])
def test_counter_exhaustion_agrees(counter: int) -> None:
    pair = ciphers(bytes(16), bytes(16), bytes(16))
    state = Scp03tState(bytes(16), counter)
    same("wrap_segment", pair, state, b"data")
    same("wrap_all", pair, state, bytes(100), 40)
    # The MAC does not cover the counter: a segment wrapped at any counter passes the MAC check.
    tlv, _ = pair[0].wrap_segment(Scp03tState(bytes(16), 0), b"data")
    same("unwrap_segment", pair, state, tlv)
    same("unwrap_all", pair, state, tlv * 2)


# -- tampered and malformed segments -----------------------------------------------------------


def _mutated(blob: bytes) -> st.SearchStrategy[bytes]:
    """Bit flips, truncations, insertions, deletions and header rewrites of ``blob``."""
    if not blob:
        return st.binary(max_size=40)
    index = st.integers(0, len(blob) - 1)
    return st.one_of(
        index.flatmap(lambda i: st.integers(0, 7).map(
            lambda bit: blob[:i] + bytes([blob[i] ^ (1 << bit)]) + blob[i + 1 :])),
        st.integers(0, len(blob)).map(lambda n: blob[:n]),
        st.tuples(index, st.binary(min_size=1, max_size=3)).map(
            lambda t: blob[: t[0]] + t[1] + blob[t[0] :]),
        st.tuples(index, st.integers(1, 4)).map(lambda t: blob[: t[0]] + blob[t[0] + t[1] :]),
        st.sampled_from([h("8784ffffffff"), h("86 84 7fffffff"), h("86 80"), h("86 83010000"),
                         h("1f"), h("86 8200ff"), h("86 83ffffff")]).map(lambda hdr: hdr + blob),
        st.binary(min_size=1, max_size=20).map(lambda tail: blob + tail),
    )


@settings(max_examples=600, deadline=None)
@given(
    k=st.tuples(keys, keys, keys),
    state=st.builds(Scp03tState, mcv=keys, counter=st.integers(0, 2**64)),
    size=st.integers(0, 3000),
    segment_size=st.sampled_from([1, 16, 17, 100, 240, 1007]),
    data=st.data(),
)
def test_tampered_batches_fail_alike(
    k: tuple[bytes, bytes, bytes],
    state: Scp03tState,
    size: int,
    segment_size: int,
    data: st.DataObject,
) -> None:
    pair = ciphers(*k)
    wrapped = pair[0].wrap_all(state, bytes(size), segment_size)
    blob = data.draw(_mutated(b"".join(wrapped.tlvs)))
    same("unwrap_all", pair, state, blob)
    same("unwrap_segment", pair, state, blob)


def test_every_truncation_of_a_full_segment_fails_alike() -> None:
    pair = ciphers(bytes(range(16)), bytes(range(16, 32)), bytes(range(32, 48)))
    state = Scp03tState(bytes(range(48, 64)), 7)
    tlv, _ = pair[0].wrap_segment(state, bytes(range(256)) * 3 + bytes(MAX_SEGMENT_PLAINTEXT - 768))
    assert len(tlv) == 1020
    for length in range(len(tlv) + 1):
        same("unwrap_all", pair, state, tlv[:length])
        same("unwrap_segment", pair, state, tlv[:length])
        same("unwrap_response", pair, state, tlv[:length])


def test_every_bit_flip_of_a_small_segment_fails_alike() -> None:
    pair = ciphers(bytes(16), bytes(range(16)), bytes(16))
    state = Scp03tState(bytes(16), 0)
    tlv, _ = pair[0].wrap_segment(state, b"\xa0\x03\x80\x01\x00")
    for index in range(len(tlv)):
        for bit in range(8):
            flipped = tlv[:index] + bytes([tlv[index] ^ (1 << bit)]) + tlv[index + 1 :]
            same("unwrap_all", pair, state, flipped + tlv)


MALFORMED = [
    "", "00", "86", "1f", "1f81", "1f8181", "1f818101", "8680", "8681", "868100", "86817f",
    "868200ff", "8685" + "00" * 8, "8684ffffffff", "8684" + "00" * 30, "86 18" + "00" * 23,
    "86 19" + "00" * 25, "86 08" + "00" * 8, "86 10" + "00" * 16, "87 18" + "00" * 24,
    "86 8203fd" + "00" * 0x3FD, "86 8203f8" + "00" * 0x3F8, "9f86 18" + "00" * 24,
    "86 18" + "00" * 24 + "86", "86 18" + "00" * 24 + "00",
]


@pytest.mark.parametrize("blob", MALFORMED)
@pytest.mark.parametrize("tag", [0x86, 0x9F86])
def test_malformed_corpus_fails_alike(blob: str, tag: int) -> None:
    pair = ciphers(bytes(16), bytes(16), bytes(16))
    state = Scp03tState(bytes(16), 0)
    for method in ("unwrap_all", "unwrap_segment", "unwrap_response"):
        result = same(method, pair, state, h(blob), tag)
        assert result[0] != "ok" or (method == "unwrap_all" and not blob)
    same_scan(h(blob))


def test_argument_errors_agree() -> None:
    with pytest.raises(ValueError):
        selection.get("native").SegmentCipher(bytes(15), bytes(16), bytes(16))
    pair = ciphers(bytes(16), bytes(16), bytes(16))
    state = Scp03tState(bytes(16), 0)
    for segment_size in (-5, 0, 1008, 10**6):
        assert same("wrap_all", pair, state, bytes(10), segment_size)[0] == "ScpError"
    assert same("wrap_segment", pair, state, bytes(1008))[0] == "ScpError"
    assert same("wrap_response", pair, state, bytes(2000))[0] == "ScpError"


# -- BER-TLV scan --------------------------------------------------------------------------


def _tlv_trees(max_leaves: int = 12) -> st.SearchStrategy[bytes]:
    """Well-formed nested TLV buffers with assorted tag and length forms."""
    tag_values = st.one_of(
        st.integers(0, 0xFF).filter(lambda t: t & 0x1F != 0x1F),
        st.integers(0x1F, 0x7F).map(lambda n: 0x1F00 | n),
        st.sampled_from([0x5F20, 0x7F21, 0xBF25, 0xBF8101, 0x9F8101]),
    )
    primitive = st.tuples(tag_values.map(lambda t: t & ~0x20 if t < 0x100 else t),
                          st.binary(max_size=200))
    leaves = primitive.map(lambda tv: tag_bytes(tv[0]) + encode_length(len(tv[1])) + tv[1])

    def constructed(children: st.SearchStrategy[list[bytes]]) -> st.SearchStrategy[bytes]:
        return st.tuples(st.sampled_from([0x30, 0xA0, 0xA5, 0xBF25, 0x7F21]), children).map(
            lambda tc: tag_bytes(tc[0]) + encode_length(len(b"".join(tc[1]))) + b"".join(tc[1])
        )

    trees = st.recursive(leaves, lambda kids: constructed(st.lists(kids, max_size=4)),
                         max_leaves=max_leaves)
    return st.lists(trees, max_size=5).map(b"".join)


@settings(max_examples=500, deadline=None)
@given(buf=st.one_of(st.binary(max_size=300), _tlv_trees()),
       max_depth=st.sampled_from([-1, 0, 1, 2, 3, 16, 2**40]))
def test_scan_of_random_buffers_agrees(buf: bytes, max_depth: int) -> None:
    same_scan(buf, max_depth)


@settings(max_examples=500, deadline=None)
@given(data=st.data())
def test_scan_of_mutated_trees_agrees(data: st.DataObject) -> None:
    tree = data.draw(_tlv_trees())
    same_scan(data.draw(_mutated(tree)))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_scan_of_mutated_profiles_agrees(
    ts48_profile: tuple[str, bytes], data: st.DataObject
) -> None:
    _, profile = ts48_profile
    kind = same_scan(profile)
    assert kind[0] == "table"
    same_scan(data.draw(_mutated(profile)))
    same_scan(profile, data.draw(st.integers(0, 6)))
