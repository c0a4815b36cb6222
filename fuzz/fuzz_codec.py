"""Fuzz target: the byte codecs of every input surface (BER-TLV, DGI, APDU, ES5, ES3, PE status).

The first byte picks the codec; the rest is its input. Only the typed errors of
:mod:`m2mrsp.errors` may escape, and whatever a strict decoder accepts must re-encode to the
same bytes (TLVs, DGIs in GP coding, APDUs, EUICCResponses).
"""

from __future__ import annotations

from harness import instrument, main

if __name__ == "__main__":
    instrument()  # before the m2mrsp imports below, so that they are instrumented

from m2mrsp import tlv  # noqa: E402
from m2mrsp.errors import M2mRspError, TlvError  # noqa: E402
from m2mrsp.protocol import apdu, dgi, es3, es5  # noqa: E402
from m2mrsp.protocol.notification import Notification  # noqa: E402
from m2mrsp.saip.response import EUICCResponse, PEStatus  # noqa: E402

MODES = 6


def _tlv(data: bytes) -> None:
    try:
        items = list(tlv.iter_tlvs(data))
    except TlvError as err:
        assert 0 <= err.offset <= len(data)
        return
    assert b"".join(tlv.encode_tlv(i.tag, i.value(data)) for i in items) == data
    if len(items) == 1:
        assert tlv.decode_single(data) == items[0].value(data)
    try:
        tlv.decode_fields(data)
    except TlvError:
        pass


def _dgi(data: bytes) -> None:
    try:
        items = list(dgi.iter_dgis(data))
    except TlvError as err:
        assert 0 <= err.offset <= len(data)
        return
    assert b"".join(data[i.offset : i.end] for i in items) == data
    if not any(i.ber_length for i in items):
        assert b"".join(dgi.encode_dgi(i.tag, i.value(data)) for i in items) == data


def _apdu(data: bytes) -> None:
    try:
        command = apdu.parse_command(data)
    except apdu.ApduError:
        return
    assert command.to_bytes() == data
    for parse in (apdu.parse_create_isdp, apdu.parse_install_for_personalization,
                  apdu.parse_isdr_store_data, apdu.parse_deleted_aids):
        try:
            parse(command.data)
        except apdu.ApduError:
            pass
    for parse_command in (apdu.parse_store_data, apdu.parse_delete):
        try:
            parse_command(command)
        except apdu.ApduError:
            pass


def _es5(data: bytes) -> None:
    for parse in (es5.parse_frame, es5.parse_command_script, es5.parse_response_script):
        try:
            parse(data)
        except TlvError:
            pass


def _es3(data: bytes) -> None:
    for decode in (es3.decode_request, es3.decode_response):
        try:
            document = decode(data)
        except M2mRspError:
            continue
        _fields(document[1] if isinstance(document, tuple) else document)


def _fields(fields: dict[str, object]) -> None:
    for getter in (lambda: es3.hex_field(fields, "Eid"),
                   lambda: es3.int_field(fields, "RequiredMemory", 0, 1 << 32),
                   lambda: es3.object_field(fields, "Eis", any_values=True)):
        try:
            getter()
        except M2mRspError:
            pass


def _statuses(data: bytes) -> None:
    try:
        response = EUICCResponse.decode(data)
    except M2mRspError:
        pass
    else:
        assert response.encode() == data
    for decode in (PEStatus.decode, Notification.decode):
        try:
            decode(data)
        except M2mRspError:
            pass


SURFACES = (_tlv, _dgi, _apdu, _es5, _es3, _statuses)


def check(data: bytes) -> None:
    if data:
        SURFACES[data[0] % MODES](data[1:])


if __name__ == "__main__":
    main("fuzz_codec", check)
