"""ES3 documents, ES5 scripts and frames, and ISD-R notifications: round trips and rejections."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from m2mrsp.errors import Es3Error, TlvError, TlvErrorKind
from m2mrsp.protocol import es3, es5
from m2mrsp.protocol.notification import PROFILE_CHANGE_SUCCEEDED, Notification

h = bytes.fromhex
ISDP_AID = h("A0000005591010FFFFFFFF8900001000")


def test_es3_request_is_canonical_json() -> None:
    request = es3.encode_request("CreateISDP", 7, Eid="89", RequiredMemory=10)
    assert request == (
        b'{"Eid":"89","Function":"CreateISDP","FunctionCallIdentifier":"7",'
        b'"RequiredMemory":10,"ValidityPeriod":3600}'
    )
    assert es3.decode_request(request) == (
        "CreateISDP",
        {"Eid": "89", "FunctionCallIdentifier": "7", "RequiredMemory": 10,
         "ValidityPeriod": 3600},
    )


def test_es3_failure_carries_status_code_data() -> None:
    response = es3.encode_response(es3.FAILED, "not enough memory")
    with pytest.raises(Es3Error, match="not enough memory"):
        es3.decode_response(response)
    assert b'"SubjectCode":"8.4"' in response


@pytest.mark.parametrize(
    "data", [b"", b"\xff\xfe", b"[1, 2]", b'{"Function": "Format"}', b"{}"]
)
def test_es3_garbage_is_a_typed_error(data: bytes) -> None:
    with pytest.raises(Es3Error):
        es3.decode_request(data)


def test_es3_response_without_status_is_refused() -> None:
    with pytest.raises(Es3Error, match="FunctionExecutionStatus"):
        es3.decode_response(b'{"IsdPAid": "00"}')


def test_create_isdp_script_matches_protocol_example() -> None:
    # PROTOCOL.md §3.2: inside ES5 the APDU travels as 22 45 80E60C003F...00.
    apdu = h("80E60C003F 10A0000005591010FFFFFFFF8900000D00 10A0000005591010FFFFFFFF8900000E00"
             "10A0000005591010FFFFFFFF8900001300 0380C000 06C90481020370 00 00")
    script = es5.build_command_script([es5.command_item(apdu)])
    assert script[:4] == h("AA472245")
    assert es5.parse_command_script(script) == [(es5.C_APDU, apdu)]


def test_scp03t_items_travel_whole() -> None:
    segment = h("8610") + bytes(16)
    script = es5.build_command_script([segment, es5.command_item(h("80CA006600"))])
    assert es5.parse_command_script(script) == [(0x86, segment), (es5.C_APDU, h("80CA006600"))]


def test_response_script_counts_its_items() -> None:
    items = [es5.response_item(h("009000")), h("8500")]
    script = es5.build_response_script(items)
    assert script == h("AB0A 800102 2303009000 8500")
    assert es5.parse_response_script(script) == [(es5.R_APDU, h("009000")), (0x85, h("8500"))]


@pytest.mark.parametrize(
    ("script", "kind", "offset"),
    [
        (h("AB03800102"), TlvErrorKind.UNEXPECTED_TAG, 2),
        (h("AB02 2300"), TlvErrorKind.UNEXPECTED_TAG, 2),
        (h("AB05 800101 0100"), TlvErrorKind.UNEXPECTED_TAG, 5),
        (h("AB04 800101 23"), TlvErrorKind.TRUNCATED_LENGTH, 6),
    ],
)
def test_bad_response_scripts(script: bytes, kind: TlvErrorKind, offset: int) -> None:
    with pytest.raises(TlvError) as err:
        es5.parse_response_script(script)
    assert (err.value.kind, err.value.offset) == (kind, offset)


def test_command_script_rejects_unknown_items_with_offset() -> None:
    with pytest.raises(TlvError) as err:
        es5.parse_command_script(h("AA06 2201FF 900100"))
    assert (err.value.kind, err.value.offset) == (TlvErrorKind.UNEXPECTED_TAG, 5)


def test_frame_round_trip_and_push() -> None:
    message = es5.frame(ISDP_AID, es5.PUSH)
    assert message == h("4F10") + ISDP_AID + h("AA00")
    assert es5.parse_frame(message) == (ISDP_AID, es5.PUSH)
    with pytest.raises(TlvError):
        es5.parse_frame(es5.PUSH)


@given(eid=st.binary(min_size=16, max_size=16), number=st.integers(0, 0xFFFF))
def test_notification_round_trip(eid: bytes, number: int) -> None:
    notification = Notification(eid, PROFILE_CHANGE_SUCCEEDED, number, ISDP_AID)
    encoded = notification.encode()
    assert encoded[0] == 0xE1
    assert Notification.decode(encoded) == notification


@pytest.mark.parametrize(
    "data",
    [h("E100"), h("E1034D0102"), h("E10B 4C0100 4D0102 4E0100 2F00"), h("E2024C00")],
)
def test_malformed_notifications(data: bytes) -> None:
    with pytest.raises(TlvError):
        Notification.decode(data)
