"""Short APDUs and the GP/ISD-R command codings (PROTOCOL.md §1.4, §3.2-3.3, §4.3-4.5, §7)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from m2mrsp.protocol import apdu

ISDP_13 = bytes.fromhex("A0000005591010FFFFFFFF8900001300")

# PROTOCOL.md §3.2: the complete ES5.CreateISDP example, verified there in two code bases
# (whty unit test, Njiwa builder) for ISD-P TAR 000013, Le included.
CREATE_ISDP_EXAMPLE = bytes.fromhex(
    "80E60C003F"
    "10A0000005591010FFFFFFFF8900000D00"
    "10A0000005591010FFFFFFFF8900000E00"
    "10A0000005591010FFFFFFFF8900001300"
    "0380C000"
    "06C90481020370"
    "00"
    "00"
)


def test_aids_from_the_tar_table() -> None:
    # PROTOCOL.md §1.4 table.
    assert apdu.ISD_R_AID.hex().upper() == "A0000005591010FFFFFFFF8900000100"
    assert apdu.ECASD_AID.hex().upper() == "A0000005591010FFFFFFFF8900000200"
    assert apdu.ISDP_LOAD_FILE_AID.hex().upper() == "A0000005591010FFFFFFFF8900000D00"
    assert apdu.ISDP_MODULE_AID.hex().upper() == "A0000005591010FFFFFFFF8900000E00"
    assert apdu.isdp_aid(apdu.FIRST_ISDP_TAR).hex().upper() == "A0000005591010FFFFFFFF8900001000"
    assert apdu.isdp_aid(0x13) == ISDP_13


def test_isdp_tar_round_trip_and_rejections() -> None:
    assert apdu.isdp_tar(ISDP_13) == 0x13
    assert apdu.isdp_tar(apdu.isdp_aid(0xFFFF)) == 0xFFFF
    assert apdu.isdp_tar(apdu.ISD_R_AID) is None
    assert apdu.isdp_tar(ISDP_13[:-1] + b"\x01") is None
    assert apdu.isdp_tar(ISDP_13[:-1]) is None
    assert apdu.isdp_tar(bytes(16)) is None
    for tar in (0x0F, 0x10000):
        with pytest.raises(ValueError):
            apdu.isdp_aid(tar)


def test_status_words() -> None:
    assert (apdu.SW_OK, apdu.SW_WRONG_DATA, apdu.SW_NOT_ENOUGH_MEMORY) == (0x9000, 0x6A80, 0x6A84)
    assert (apdu.SW_REFERENCED_DATA_NOT_FOUND, apdu.SW_MEMORY_FAILURE) == (0x6A88, 0x6581)
    assert (apdu.SW_CONDITIONS_NOT_SATISFIED, apdu.SW_SECURITY_STATUS_NOT_SATISFIED) == (
        0x6985, 0x6982)
    assert apdu.SW_POL1_FORBIDS == 0x69E1


def test_create_isdp_reproduces_the_protocol_example() -> None:
    command = apdu.build_create_isdp(ISDP_13)
    assert command.to_bytes() == CREATE_ISDP_EXAMPLE
    assert command.case is apdu.ApduCase.DATA_AND_LE
    # Inside ES5 it travels as `22 45 80E60C003F…00` (0x45 = 69 bytes).
    assert len(command.to_bytes()) == 0x45
    assert apdu.build_create_isdp(ISDP_13, le=None).to_bytes() == CREATE_ISDP_EXAMPLE[:-1]


def test_create_isdp_with_required_memory() -> None:
    # [D] PROTOCOL.md §3.2: `EF 04 83 02 hh ll` only for a non-zero RequiredMemory.
    command = apdu.build_create_isdp(ISDP_13, required_memory=0x1234, le=None)
    expected = CREATE_ISDP_EXAMPLE[:4] + b"\x45" + CREATE_ISDP_EXAMPLE[5:60] + bytes.fromhex(
        "0CC90481020370EF0483021234" "00"
    )
    assert command.to_bytes() == expected
    parsed = apdu.parse_create_isdp(command.data)
    assert parsed == apdu.CreateIsdp(ISDP_13, bytes.fromhex("80C000"), bytes.fromhex("0370"),
                                     0x1234)
    assert apdu.parse_create_isdp(apdu.build_create_isdp(ISDP_13).data).required_memory == 0
    # [D] above 65535 bytes the reservation takes four bytes: EF 06 83 04 00 01 00 00.
    large = apdu.build_create_isdp(ISDP_13, required_memory=0x10000)
    assert large.data.endswith(bytes.fromhex("EF06830400010000" "00"))
    assert apdu.parse_create_isdp(large.data).required_memory == 0x10000
    with pytest.raises(ValueError):
        apdu.build_create_isdp(ISDP_13, required_memory=1 << 32)


def test_create_isdp_parse_errors() -> None:
    data = apdu.build_create_isdp(ISDP_13).data
    wrong_elf = data[:16] + b"\x01" + data[17:]
    with pytest.raises(apdu.ApduError) as err:
        apdu.parse_create_isdp(wrong_elf)
    assert err.value.offset == 0 and err.value.sw == apdu.SW_WRONG_DATA
    with pytest.raises(apdu.ApduError) as err:
        apdu.parse_create_isdp(data[:40])
    assert err.value.offset == 34  # the application AID's length byte
    with pytest.raises(apdu.ApduError) as err:
        apdu.parse_create_isdp(data + b"\x00")
    assert err.value.offset == len(data)
    cases = [("04C9028200", 56), ("04EF028300", 56), ("08C9028100EF028200", 62)]
    for params, offset in cases:  # no 81 in C9, no C9, no 83 in EF
        with pytest.raises(apdu.ApduError) as err:
            apdu.parse_create_isdp(data[:55] + bytes.fromhex(params) + b"\x00")
        assert err.value.offset == offset
    bad_tlv = data[:55] + bytes.fromhex("03C90581") + b"\x00"
    with pytest.raises(apdu.ApduError) as err:
        apdu.parse_create_isdp(bad_tlv)
    assert err.value.offset == 57  # the C9 length byte inside the parameters


def test_install_for_personalization() -> None:
    # PROTOCOL.md §4.3: `80 E6 20 00 16 00 00 10 <AID> 00 00 00`.
    command = apdu.build_install_for_personalization(ISDP_13)
    assert command.to_bytes() == bytes.fromhex("80E62000160000") + b"\x10" + ISDP_13 + bytes(3)
    assert apdu.parse_install_for_personalization(command.data) == ISDP_13
    with pytest.raises(apdu.ApduError):
        apdu.parse_install_for_personalization(bytes.fromhex("01AA00000000" "00"))
    with pytest.raises(apdu.ApduError) as err:
        apdu.parse_install_for_personalization(bytes.fromhex("000000000000"))
    assert err.value.offset == 2


def test_store_data_p1_codings() -> None:
    # PROTOCOL.md §4.4, §4.5, §7.1.
    assert apdu.store_data_p1(last=False, response=True) == 0x09
    assert apdu.store_data_p1(last=True, response=True) == 0x89
    assert apdu.store_data_p1(last=True) == 0x88
    parsed = apdu.parse_store_data(apdu.build_store_data(b"\x01", 0x89, 0x01))
    assert parsed == apdu.StoreData(True, 0, apdu.STORE_DATA_DGI, True, 1, b"\x01")
    with pytest.raises(apdu.ApduError) as err:
        apdu.parse_store_data(apdu.build_install_for_personalization(ISDP_13))
    assert err.value.sw == apdu.SW_INS_NOT_SUPPORTED


def test_isdr_dgis() -> None:
    # PROTOCOL.md §7.1-7.2.
    enable = apdu.build_enable_profile(ISDP_13)
    assert enable.to_bytes() == bytes.fromhex("80E28800153A0312") + b"\x4f\x10" + ISDP_13
    disable = apdu.build_disable_profile(ISDP_13)
    assert disable.to_bytes() == bytes.fromhex("80E28800153A0412") + b"\x4f\x10" + ISDP_13
    confirm = apdu.build_notification_confirmation(0x0102)
    assert confirm.to_bytes() == bytes.fromhex("80E28900073A08044E020102")
    assert apdu.parse_isdr_store_data(enable.data) == apdu.IsdrCommand(0x3A03, aid=ISDP_13)
    assert apdu.parse_isdr_store_data(disable.data) == apdu.IsdrCommand(0x3A04, aid=ISDP_13)
    assert apdu.parse_isdr_store_data(confirm.data) == apdu.IsdrCommand(
        0x3A08, sequence_number=0x0102)


@pytest.mark.parametrize(
    ("hex_data", "offset", "sw"),
    [
        ("3A03124F10", 2, 0x6A80),  # DGI value runs past the end
        ("3A09024F00", 0, 0x6A88),  # unknown DGI
        ("3A0303500100", 3, 0x6A80),  # not a 4F TLV
        ("3A0303" "4F0201", 4, 0x6A80),  # 4F length past the DGI value
        ("3A0803" "4E0101", 3, 0x6A80),  # one-byte sequence number
        ("3A0300" "3A0400", 3, 0x6A80),  # two DGIs
        ("", 0, 0x6A80),  # no DGI
    ],
)
def test_isdr_dgi_errors(hex_data: str, offset: int, sw: int) -> None:
    with pytest.raises(apdu.ApduError) as err:
        apdu.parse_isdr_store_data(bytes.fromhex(hex_data))
    assert (err.value.offset, err.value.sw) == (offset, sw)


def test_deleted_aids_response() -> None:
    other = apdu.isdp_aid(0x14)
    encoded = apdu.encode_deleted_aids([ISDP_13, other])
    assert encoded == b"\x80\x24\x4f\x10" + ISDP_13 + b"\x4f\x10" + other
    assert apdu.parse_deleted_aids(encoded) == [ISDP_13, other]
    assert apdu.parse_deleted_aids(b"") == []
    assert apdu.parse_deleted_aids(apdu.encode_deleted_aids([])) == []
    with pytest.raises(apdu.ApduError) as err:
        apdu.parse_deleted_aids(b"\x80\x03\x50\x01\x00")
    assert err.value.offset == 2
    with pytest.raises(apdu.ApduError) as err:
        apdu.parse_deleted_aids(b"\x80\x05\x4f\x01")
    assert err.value.offset == 1


def test_delete() -> None:
    # PROTOCOL.md §7.2 with the GP coding P2 80 ([A], U14).
    command = apdu.build_delete(ISDP_13)
    assert command.to_bytes() == bytes.fromhex("80E4008012") + b"\x4f\x10" + ISDP_13
    assert apdu.parse_delete(command) == (ISDP_13, True)
    assert apdu.parse_delete(apdu.build_delete(ISDP_13, related=False)) == (ISDP_13, False)
    # Njiwa's P1 88 P2 40 is refused at P1 (offset 2), a bad P2 alone at offset 3.
    with pytest.raises(apdu.ApduError) as err:
        apdu.parse_delete(apdu.CommandApdu(0x80, 0xE4, 0x88, 0x40, command.data))
    assert (err.value.offset, err.value.sw) == (2, apdu.SW_INCORRECT_P1_P2)
    with pytest.raises(apdu.ApduError) as err:
        apdu.parse_delete(apdu.CommandApdu(0x80, 0xE4, 0x00, 0x40, command.data))
    assert (err.value.offset, err.value.sw) == (3, apdu.SW_INCORRECT_P1_P2)
    with pytest.raises(apdu.ApduError) as err:
        apdu.parse_delete(apdu.CommandApdu(0x80, 0xE4, 0x00, 0x80, b"\x4f\x05\x00"))
    assert err.value.offset == 6


@pytest.mark.parametrize(
    ("hex_apdu", "case", "data", "le"),
    [
        ("80CA005A", 1, b"", None),
        ("80CA005A00", 2, b"", 256),
        ("80CA005A10", 2, b"", 16),
        ("80E2880003AABBCC", 3, b"\xaa\xbb\xcc", None),
        ("80E2890003AABBCC00", 4, b"\xaa\xbb\xcc", 256),
    ],
)
def test_parse_command_cases(hex_apdu: str, case: int, data: bytes, le: int | None) -> None:
    command = apdu.parse_command(bytes.fromhex(hex_apdu))
    assert (command.case, command.data, command.le) == (case, data, le)
    assert command.to_bytes().hex().upper() == hex_apdu


@pytest.mark.parametrize(
    ("hex_apdu", "offset"),
    [("", 0), ("80CA00", 3), ("80E2880003AABB", 4), ("80E2880003AABBCCDDEE", 4),
     ("80E2880000AABB", 4)],
)
def test_parse_command_errors(hex_apdu: str, offset: int) -> None:
    with pytest.raises(apdu.ApduError) as err:
        apdu.parse_command(bytes.fromhex(hex_apdu))
    assert (err.value.offset, err.value.sw) == (offset, apdu.SW_WRONG_LENGTH)


def test_command_apdu_rejects_bad_fields() -> None:
    with pytest.raises(ValueError):
        apdu.CommandApdu(0x100, 0, 0, 0)
    with pytest.raises(ValueError):
        apdu.CommandApdu(0x80, 0xE2, 0, 0, bytes(256))
    with pytest.raises(ValueError):
        apdu.CommandApdu(0x80, 0xE2, 0, 0, le=0)


def test_responses() -> None:
    assert apdu.encode_response(apdu.INSTALL_RESPONSE, apdu.SW_OK) == b"\x00\x90\x00"
    assert apdu.split_response(bytes.fromhex("8510AA9000")) == (bytes.fromhex("8510AA"), 0x9000)
    assert apdu.split_response(bytes.fromhex("6A80")) == (b"", 0x6A80)
    with pytest.raises(apdu.ApduError):
        apdu.split_response(b"\x90")


_bytes1 = st.integers(0, 255)
_commands = st.builds(
    apdu.CommandApdu, _bytes1, _bytes1, _bytes1, _bytes1, st.binary(max_size=255),
    st.one_of(st.none(), st.integers(1, 256)),
)


@given(_commands)
def test_command_round_trip(command: apdu.CommandApdu) -> None:
    assert apdu.parse_command(command.to_bytes()) == command


@given(st.binary(max_size=300))
def test_arbitrary_bytes_parse_or_raise_typed(raw: bytes) -> None:
    try:
        command = apdu.parse_command(raw)
    except apdu.ApduError as err:
        assert 0 <= err.offset <= len(raw)
        return
    assert command.to_bytes() == raw or (raw[-1] == 0 and command.le == 256)


@given(st.binary(max_size=80))
def test_arbitrary_data_fields_raise_typed(data: bytes) -> None:
    for parse in (apdu.parse_create_isdp, apdu.parse_install_for_personalization,
                  apdu.parse_isdr_store_data, apdu.parse_deleted_aids):
        try:
            parse(data)
        except apdu.ApduError as err:
            assert 0 <= err.offset <= len(data)
