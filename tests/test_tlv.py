"""The strict BER-TLV codec: round trips, minimal encoding and typed errors with offsets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from m2mrsp import tlv
from m2mrsp.errors import TlvError, TlvErrorKind

h = bytes.fromhex

tags = st.one_of(
    st.integers(0, 0xFF).filter(lambda t: t & 0x1F != 0x1F),
    st.integers(0x1F, 0x7F).map(lambda n: 0x1F00 | n),  # class/constructed bits zero, 2 bytes
    st.sampled_from([0x5F20, 0x7F21, 0x7F49, 0x9F70, 0xBF20, 0xBF3E, 0x9F8101]),
)


@given(tag=tags, value=st.binary(max_size=600))
def test_encode_then_decode_round_trips(tag: int, value: bytes) -> None:
    encoded = tlv.encode_tlv(tag, value)
    assert tlv.read_header(encoded, 0, len(encoded)) == (tag, len(encoded) - len(value), len(value))
    assert tlv.decode_single(encoded, tag) == value


@given(items=st.lists(st.tuples(tags, st.binary(max_size=300)), max_size=8))
def test_a_sequence_decodes_to_its_items(items: list[tuple[int, bytes]]) -> None:
    encoded = b"".join(tlv.encode_tlv(tag, value) for tag, value in items)
    assert tlv.decode_list(encoded) == items


@pytest.mark.parametrize(
    ("length", "octets"),
    [(0, "00"), (127, "7f"), (128, "8180"), (255, "81ff"), (256, "820100"),
     (65535, "82ffff"), (65536, "83010000"), (0xFFFFFFFF, "84ffffffff")],
)
def test_lengths_are_minimal(length: int, octets: str) -> None:
    assert tlv.encode_length(length) == h(octets)


def test_length_beyond_four_octets_cannot_be_encoded() -> None:
    with pytest.raises(ValueError):
        tlv.encode_length(1 << 32)


@pytest.mark.parametrize(
    ("data", "kind", "offset"),
    [
        ("", TlvErrorKind.TRUNCATED_TAG, 0),
        ("5f", TlvErrorKind.TRUNCATED_TAG, 0),
        ("5f8181", TlvErrorKind.TAG_TOO_LONG, 0),
        ("80", TlvErrorKind.TRUNCATED_LENGTH, 1),
        ("7f21", TlvErrorKind.TRUNCATED_LENGTH, 2),
        ("8082", TlvErrorKind.TRUNCATED_LENGTH, 1),
        ("a080", TlvErrorKind.INDEFINITE_LENGTH, 1),
        ("8085ffffffffff", TlvErrorKind.LENGTH_TOO_LONG, 1),
        ("80817f" + "00" * 127, TlvErrorKind.NON_MINIMAL_LENGTH, 1),
        ("8082 00ff" + "00" * 255, TlvErrorKind.NON_MINIMAL_LENGTH, 1),
        ("8003 0102", TlvErrorKind.VALUE_PAST_END, 1),
        ("80 84 7fffffff 00", TlvErrorKind.VALUE_PAST_END, 1),
    ],
)
def test_malformed_headers(data: str, kind: TlvErrorKind, offset: int) -> None:
    with pytest.raises(TlvError) as err:
        tlv.read_header(h(data), 0, len(h(data)))
    assert (err.value.kind, err.value.offset) == (kind, offset)


def test_trailing_bytes_after_a_single_tlv() -> None:
    with pytest.raises(TlvError) as err:
        tlv.decode_single(h("800100 00"))
    assert (err.value.kind, err.value.offset) == (TlvErrorKind.TRAILING_BYTES, 3)


def test_unexpected_tag() -> None:
    with pytest.raises(TlvError) as err:
        tlv.decode_single(h("8100"), expected_tag=0x80)
    assert err.value.kind is TlvErrorKind.UNEXPECTED_TAG


def test_error_offset_inside_a_sequence_points_at_the_bad_tlv() -> None:
    data = h("8001aa 8102bbcc 8205 01")
    with pytest.raises(TlvError) as err:
        tlv.decode_list(data)
    assert (err.value.kind, err.value.offset) == (TlvErrorKind.VALUE_PAST_END, 8)


def test_repeated_field_is_rejected_with_offset() -> None:
    with pytest.raises(TlvError) as err:
        tlv.decode_fields(h("8001aa 8001bb"), offset_base=10)
    assert (err.value.kind, err.value.offset) == (TlvErrorKind.UNEXPECTED_TAG, 13)


def test_gigabyte_length_on_a_short_buffer_allocates_nothing() -> None:
    data = h("04 84 7fffffff") + b"x" * 10
    with pytest.raises(TlvError) as err:
        tlv.decode_single(data)
    assert err.value.kind is TlvErrorKind.VALUE_PAST_END


@given(st.binary(max_size=64))
def test_random_bytes_decode_or_raise_a_typed_error(data: bytes) -> None:
    try:
        items = list(tlv.iter_tlvs(data))
    except TlvError as err:
        assert 0 <= err.offset <= len(data)
    else:
        assert b"".join(data[i.offset : i.end] for i in items) == data
        reencoded = b"".join(tlv.encode_tlv(i.tag, i.value(data)) for i in items)
        assert reencoded == data
