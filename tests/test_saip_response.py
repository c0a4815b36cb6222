"""EUICCResponse / PEStatus DER codec (PROTOCOL.md §6.4)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from m2mrsp.errors import ProfileError
from m2mrsp.saip.response import EUICCResponse, PEStatus, Status

# PROTOCOL.md §6.4 [V] (checked there with an ASN.1 compiler).
ALL_FINE = "3007A005300380 0100"
ABORTED = "3017A013 3003800100 300C800103810108820101830178 8100"
SINGLE_STATUS = "3006800100810105"


def test_all_fine_vector() -> None:
    response = EUICCResponse((PEStatus(Status.OK),))
    assert response.encode() == bytes.fromhex(ALL_FINE)
    assert EUICCResponse.decode(bytes.fromhex(ALL_FINE)) == response
    assert response.succeeded


def test_aborted_vector() -> None:
    response = EUICCResponse(
        (PEStatus(Status.OK), PEStatus(Status.BAD_VALUES, 8, 1, 120)), aborted=True
    )
    assert response.encode() == bytes.fromhex(ABORTED)
    decoded = EUICCResponse.decode(bytes.fromhex(ABORTED))
    assert decoded == response
    assert not decoded.succeeded
    assert decoded.statuses[1].is_error


def test_single_pe_status_vector() -> None:
    status = PEStatus(Status.OK, 5)
    assert status.encode() == bytes.fromhex(SINGLE_STATUS)
    assert PEStatus.decode(bytes.fromhex(SINGLE_STATUS)) == status


def test_status_values_match_protocol() -> None:
    assert [int(s) for s in Status] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 31]


def test_status_message_and_large_numbers() -> None:
    response = EUICCResponse((PEStatus(0x9000, 0x7FFF, 255, 0x7FFFFFFF),), False, "ok!")
    der = response.encode()
    # status 36864 needs a leading zero byte; message tag 82
    assert bytes.fromhex("800300 9000") in der
    assert der.endswith(bytes.fromhex("8203") + b"ok!")
    assert EUICCResponse.decode(der) == response
    assert not response.succeeded  # an ISO status word is not ok


def test_empty_status_list() -> None:
    assert EUICCResponse(()).encode() == bytes.fromhex("3002A000")
    assert EUICCResponse.decode(bytes.fromhex("3002A000")).statuses == ()
    assert not EUICCResponse(()).succeeded  # no ok for end: nothing was installed


def test_warnings_before_the_final_ok_are_a_success() -> None:
    warning = PEStatus(Status.PE_NOT_SUPPORTED, 99, None, 945)
    assert EUICCResponse((warning, PEStatus(Status.OK, 8))).succeeded
    assert not EUICCResponse((PEStatus(Status.OK, 8), warning)).succeeded
    assert not EUICCResponse((warning, PEStatus(Status.OK, 8)), aborted=True).succeeded


@pytest.mark.parametrize(
    ("der", "status"),
    [
        ("3007A00530038001", Status.INVALID_REQUEST_FORMAT),  # truncated
        ("3107A0053003800100", Status.INVALID_REQUEST_FORMAT),  # wrong outer tag
        ("3007A005300380010000", Status.INVALID_REQUEST_FORMAT),  # trailing byte
        ("3005A0033001 00", Status.INVALID_REQUEST_FORMAT),  # 01 00 not TLV
        ("3005A003810100", Status.INVALID_REQUEST_FORMAT),  # item not a SEQUENCE
        ("3005A0033001", Status.INVALID_REQUEST_FORMAT),  # length past end
        ("3002A100", Status.INVALID_REQUEST_FORMAT),  # peStatus missing
        ("300AA0053003800100 810100", Status.BAD_VALUES),  # NULL with content
        ("3008A00630048002 0000", Status.BAD_VALUES),  # status not minimal
        ("3007A00530038001FF", Status.BAD_VALUES),  # status -1
        ("3009A0073005800301 0000", Status.BAD_VALUES),  # status 65536
        ("300AA008300680010081 0180", Status.BAD_VALUES),  # id -128
        ("3009A0053003800100 8100 00", Status.INVALID_REQUEST_FORMAT),
        ("300AA00530038001008201 41", Status.BAD_VALUES),  # message too short
        ("300BA0053003800100 8100 8100", Status.INVALID_REQUEST_FORMAT),
    ],
)
def test_decode_rejects(der: str, status: Status) -> None:
    with pytest.raises(ProfileError) as info:
        EUICCResponse.decode(bytes.fromhex(der))
    assert info.value.status == status


def test_encode_rejects_out_of_range() -> None:
    with pytest.raises(ValueError):
        PEStatus(0x10000).encode()
    with pytest.raises(ValueError):
        EUICCResponse((), status_message="x").encode()


_numbers = st.one_of(st.none(), st.integers(min_value=0, max_value=0x7FFF))
pe_statuses = st.builds(
    PEStatus,
    st.integers(min_value=0, max_value=0xFFFF),
    _numbers,
    st.one_of(st.none(), st.integers(min_value=0, max_value=255)),
    st.one_of(st.none(), st.integers(min_value=0, max_value=0x7FFFFFFF)),
)


@given(
    st.lists(pe_statuses, max_size=6),
    st.booleans(),
    st.one_of(st.none(), st.text(min_size=2, max_size=16)),
)
def test_round_trip(statuses: list[PEStatus], aborted: bool, message: str | None) -> None:
    if message is not None and len(message.encode()) > 64:
        message = None
    response = EUICCResponse(tuple(statuses), aborted, message)
    der = response.encode()
    assert EUICCResponse.decode(der) == response
    for status in statuses:
        assert PEStatus.decode(status.encode()) == status


@given(st.binary(max_size=40))
def test_decode_never_crashes(data: bytes) -> None:
    try:
        EUICCResponse.decode(data)
    except ProfileError as err:
        assert err.status in (Status.INVALID_REQUEST_FORMAT, Status.BAD_VALUES)
