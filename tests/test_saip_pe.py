"""SAIP PE primitives: tag table, PEHeader, DER scalars (PROTOCOL.md §8.1-8.4)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from m2mrsp.errors import ProfileError
from m2mrsp.saip import pe
from m2mrsp.saip.pe import PEHeader, Status

# PROTOCOL.md §8.2 [V]: (choice number, tag bytes, name)
CHOICE_TABLE = [
    (0, "A0", "header"), (1, "A1", "genericFileManagement"), (2, "A2", "pinCodes"),
    (3, "A3", "pukCodes"), (4, "A4", "akaParameter"), (5, "A5", "cdmaParameter"),
    (6, "A6", "securityDomain"), (7, "A7", "rfm"), (8, "A8", "application"),
    (9, "A9", "nonStandard"), (10, "AA", "end"), (11, "AB", "rfu1"), (12, "AC", "rfu2"),
    (13, "AD", "rfu3"), (14, "AE", "rfu4"), (15, "AF", "rfu5"), (16, "B0", "mf"),
    (17, "B1", "cd"), (18, "B2", "telecom"), (19, "B3", "usim"), (20, "B4", "opt-usim"),
    (21, "B5", "isim"), (22, "B6", "opt-isim"), (23, "B7", "phonebook"),
    (24, "B8", "gsm-access"), (25, "B9", "csim"), (26, "BA", "opt-csim"), (27, "BB", "eap"),
    (28, "BC", "df-5gs"), (29, "BD", "df-saip"), (30, "BE", "df-snpn"),
    (31, "BF1F", "df-5gprose"), (32, "BF20", "iot"), (33, "BF21", "opt-iot"),
]


@pytest.mark.parametrize(("number", "tag_hex", "name"), CHOICE_TABLE)
def test_choice_table_matches_protocol(number: int, tag_hex: str, name: str) -> None:
    tag = int(tag_hex, 16)
    assert pe.PE_NAMES[tag] == name
    assert pe.pe_name(tag) == name
    assert pe.context_tag(number) == tag
    assert pe.context_number(tag) == number
    assert pe.is_known_pe(tag) == (not name.startswith("rfu"))


def test_table_has_exactly_the_protocol_entries() -> None:
    assert len(pe.PE_NAMES) == len(CHOICE_TABLE)
    assert pe.pe_name(0xBF30) == "unknown-BF30"
    assert not pe.is_known_pe(0xBF30)


def test_context_tag_number_limits() -> None:
    assert pe.context_tag(5, constructed=False) == 0x85
    assert pe.context_tag(87) == 0xBF57  # opt-usim's last member
    assert pe.context_number(0x30) is None  # universal class
    assert pe.context_number(0x5F20) is None  # application class
    with pytest.raises(ValueError):
        pe.context_tag(0x80)


def test_pe_header_vectors() -> None:
    # PROTOCOL.md §8.3: "Typical: A0 05 80 00 81 01 04"; end PE "AA 05 A0 03 81 01 1F".
    assert PEHeader(True, 4).encode() == bytes.fromhex("A005800081 0104")
    assert PEHeader(False, 0x1F).encode() == bytes.fromhex("A003 81011F")
    assert PEHeader(True, 300).encode() == bytes.fromhex("A006 8000 8102012C")


@pytest.mark.parametrize(
    ("hex_pe", "expected"),
    [
        ("AA07A005800081011F", PEHeader(True, 31)),  # §8.3 end PE, mandated
        ("AA05A00381011F", PEHeader(False, 31)),  # §8.3 end PE, not mandated
        ("A308A00580008101 05", None),  # A3 08 announces one byte more than present
        ("AA05A00382011F", None),  # 82 instead of 81
        ("AA08A00680010081011F", None),  # "mandated" NULL with content
        ("AA05A10381011F", None),  # first member not A0
        ("AA06A00481020001", None),  # identification not minimal
        ("AB00", None),  # rfu placeholder: no header
    ],
)
def test_peek_pe_header(hex_pe: str, expected: PEHeader | None) -> None:
    assert pe.peek_pe_header(bytes.fromhex(hex_pe)) == expected


@pytest.mark.parametrize(
    ("content", "value"),
    [("00", 0), ("7F", 127), ("0080", 128), ("0081", 0x81), ("7FFF", 0x7FFF), ("FF", -1)],
)
def test_decode_int(content: str, value: int) -> None:
    assert pe.decode_int(bytes.fromhex(content)) == value


@pytest.mark.parametrize("content", ["", "0001", "FF80"])
def test_decode_int_rejects_bad_encodings(content: str) -> None:
    with pytest.raises(ProfileError) as info:
        pe.decode_int(bytes.fromhex(content))
    assert info.value.status == Status.BAD_VALUES


@pytest.mark.parametrize(("content", "maximum"), [("FF", 255), ("0100", 255), ("008000", 0x7FFF)])
def test_decode_uint_range(content: str, maximum: int) -> None:
    with pytest.raises(ProfileError) as info:
        pe.decode_uint(bytes.fromhex(content), maximum)
    assert info.value.status == Status.BAD_VALUES


@given(st.integers(min_value=0, max_value=2**40))
def test_uint_round_trip(number: int) -> None:
    assert pe.decode_uint(pe.encode_uint(number), 2**40) == number


def test_oid_vector() -> None:
    # PROTOCOL.md §8.4: templateID 2.23.143.1.2.1 = 67 81 0F 01 02 01.
    assert pe.encode_oid("2.23.143.1.2.1") == bytes.fromhex("67810F010201")
    assert pe.decode_oid(bytes.fromhex("67810F010201")) == "2.23.143.1.2.1"
    assert pe.decode_oid(bytes.fromhex("2A864886FC6B01")) == "1.2.840.114283.1"


@pytest.mark.parametrize("content", ["", "6780", "67810F8001", "8001"])
def test_oid_rejects_bad_encodings(content: str) -> None:
    with pytest.raises(ProfileError):
        pe.decode_oid(bytes.fromhex(content))


@given(
    st.integers(min_value=0, max_value=2),
    st.integers(min_value=0, max_value=39),
    st.lists(st.integers(min_value=0, max_value=2**32), max_size=8),
)
def test_oid_round_trip(first: int, second: int, rest: list[int]) -> None:
    dotted = ".".join(str(n) for n in (first, second, *rest))
    assert pe.decode_oid(pe.encode_oid(dotted)) == dotted


def test_oid_within() -> None:
    assert pe.oid_within("2.23.143.1.2.4", "2.23.143.1.2.4")
    assert pe.oid_within("2.23.143.1.2.4.2", "2.23.143.1.2.4")
    assert not pe.oid_within("2.23.143.1.2.41", "2.23.143.1.2.4")


def test_iccid_codings() -> None:
    # PROTOCOL.md §1.6 [V]: header 89000123456789012341, EF.ICCID 98001032547698103214.
    header = pe.encode_iccid("89000123456789012341")
    assert header == bytes.fromhex("89000123456789012341")
    assert pe.swap_nibbles(header) == bytes.fromhex("98001032547698103214")
    assert pe.decode_iccid(header) == "89000123456789012341"
    assert pe.decode_iccid(bytes.fromhex("8949449999999990015F")) == "8949449999999990015"


@pytest.mark.parametrize("content", ["8949449999999990015F00", "89494499999999900A5F",
                                     "894944999999999F0015"])
def test_iccid_rejects(content: str) -> None:
    with pytest.raises(ProfileError) as info:
        pe.decode_iccid(bytes.fromhex(content))
    assert info.value.status == Status.BAD_VALUES


def test_encode_iccid_rejects_non_digits() -> None:
    with pytest.raises(ProfileError):
        pe.encode_iccid("8900012345678901234X")
