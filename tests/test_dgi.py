"""DGI coding (GP 2.3 §11.11, PROTOCOL.md §4.4 and its [D] on BER lengths)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from m2mrsp.errors import TlvError, TlvErrorKind
from m2mrsp.protocol import dgi


@pytest.mark.parametrize(
    ("length", "octets"),
    [(0, "00"), (0x7F, "7f"), (0x80, "80"), (254, "fe"), (255, "ff00ff"), (0xFFFF, "ffffff")],
)
def test_length_coding(length: int, octets: str) -> None:
    assert dgi.encode_dgi_length(length).hex() == octets


@pytest.mark.parametrize("length", [-1, 0x10000])
def test_length_out_of_range(length: int) -> None:
    with pytest.raises(ValueError):
        dgi.encode_dgi_length(length)


def test_encode_short_and_long() -> None:
    assert dgi.encode_dgi(0x3A03, bytes.fromhex("4F01AA")).hex() == "3a03034f01aa"
    long = dgi.encode_dgi(0x3A01, bytes(300))
    assert long[:5].hex() == "3a01ff012c" and len(long) == 305
    # A 230-byte certificate: GP coding `3A01 E6` where Njiwa writes `3A01 81 E6` (§4.4).
    assert dgi.encode_dgi(0x3A01, bytes(230))[:3].hex() == "3a01e6"


def test_encode_rejects_three_byte_tag() -> None:
    with pytest.raises(ValueError):
        dgi.encode_dgi(0x10000, b"")


def test_sequence_decodes_in_order() -> None:
    data = dgi.encode_dgi(0x3A02, b"\x01") + dgi.encode_dgi(0x7F49, bytes(300)) + dgi.encode_dgi(
        0x5F37, b""
    )
    assert dgi.decode_dgis(data) == [(0x3A02, b"\x01"), (0x7F49, bytes(300)), (0x5F37, b"")]
    items = list(dgi.iter_dgis(data))
    assert [(i.offset, i.value_offset, i.length) for i in items] == [
        (0, 3, 1), (4, 9, 300), (309, 312, 0)
    ]
    assert items[1].raw(data) == data[4:309]


def test_ber_lengths_accepted_njiwa_style() -> None:
    value = bytes(range(230))
    njiwa = bytes.fromhex("3a0181e6") + value
    assert dgi.decode_single_dgi(njiwa, 0x3A01) == value
    two_byte = bytes.fromhex("3a01820100") + bytes(256)
    assert dgi.decode_single_dgi(two_byte) == bytes(256)
    item = next(dgi.iter_dgis(njiwa))
    assert item.ber_length and item.value_offset == 4


def test_ber_lengths_rejected_when_switched_off() -> None:
    njiwa = bytes.fromhex("3a0181e6") + bytes(230)
    with pytest.raises(TlvError) as err:
        dgi.decode_single_dgi(njiwa, accept_ber=False)
    assert err.value.kind is TlvErrorKind.TRAILING_BYTES and err.value.offset == 132


def test_ambiguous_length_prefers_gp_reading() -> None:
    # 3A01 81 | 80 ...: GP reads 129 value bytes, BER reads 81 80 = 128; both fill the buffer.
    value = b"\x80" + bytes(range(128))
    data = bytes.fromhex("3a0181") + value
    assert dgi.decode_dgis(data) == [(0x3A01, value)]
    assert dgi.decode_single_dgi(data) == value


def test_ber_item_inside_a_sequence() -> None:
    first = bytes(range(144))
    data = bytes.fromhex("3a018190") + first + dgi.encode_dgi(0x3A02, b"\x01\x02\x03")
    assert dgi.decode_dgis(data) == [(0x3A01, first), (0x3A02, b"\x01\x02\x03")]


@pytest.mark.parametrize(
    ("hex_data", "kind", "offset"),
    [
        ("3a", TlvErrorKind.TRUNCATED_TAG, 0),
        ("3a01", TlvErrorKind.TRUNCATED_LENGTH, 2),
        ("3a010500", TlvErrorKind.VALUE_PAST_END, 2),
        ("3a01ff01", TlvErrorKind.TRUNCATED_LENGTH, 2),
        ("3a01ff0010" + "00" * 16, TlvErrorKind.NON_MINIMAL_LENGTH, 2),
        ("3a010100" + "3a", TlvErrorKind.TRUNCATED_TAG, 4),
        ("3a010100" + "3a02" + "02ff", TlvErrorKind.VALUE_PAST_END, 6),
    ],
)
def test_malformed_sequences(hex_data: str, kind: TlvErrorKind, offset: int) -> None:
    with pytest.raises(TlvError) as err:
        dgi.decode_dgis(bytes.fromhex(hex_data))
    assert (err.value.kind, err.value.offset) == (kind, offset)


def test_single_dgi_errors() -> None:
    with pytest.raises(TlvError) as err:
        dgi.decode_single_dgi(b"")
    assert (err.value.kind, err.value.offset) == (TlvErrorKind.TRUNCATED_TAG, 0)
    with pytest.raises(TlvError) as err:
        dgi.decode_single_dgi(bytes.fromhex("3a0101aa3a"))
    assert (err.value.kind, err.value.offset) == (TlvErrorKind.TRAILING_BYTES, 4)
    with pytest.raises(TlvError) as err:
        dgi.decode_single_dgi(bytes.fromhex("3a0101aa"), expected_tag=0x3A02)
    assert (err.value.kind, err.value.offset) == (TlvErrorKind.UNEXPECTED_TAG, 0)


def test_empty_buffer_is_an_empty_sequence() -> None:
    assert dgi.decode_dgis(b"") == []


_dgi_lists = st.lists(
    st.tuples(st.integers(0, 0xFFFF), st.binary(max_size=600)), max_size=5
)


@given(_dgi_lists)
def test_round_trip(items: list[tuple[int, bytes]]) -> None:
    data = b"".join(dgi.encode_dgi(tag, value) for tag, value in items)
    assert dgi.decode_dgis(data) == items
    assert dgi.decode_dgis(data, accept_ber=False) == items


@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_tlv_errors(data: bytes) -> None:
    try:
        items = list(dgi.iter_dgis(data))
    except TlvError as err:
        assert 0 <= err.offset <= len(data)
        return
    assert sum(item.end - item.offset for item in items) == len(data)
