"""GP Amd E certificates (PROTOCOL.md §4.2): build, strict parse, verify."""

from __future__ import annotations

import datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from m2mrsp.crypto import ecc
from m2mrsp.errors import CertificateError, TlvError, TlvErrorKind
from m2mrsp.protocol import certs
from m2mrsp.rng import RandomSource
from m2mrsp.tlv import decode_list, encode_tlv, iter_tlvs, read_header

RNG = RandomSource(7, "test_certs")
ISSUER = ecc.generate_private_key(ecc.P256, RNG.fork("issuer"))
SUBJECT = ecc.generate_private_key(ecc.BRAINPOOL_P256R1, RNG.fork("subject"))
ISSUER_ID = certs.key_identifier(ISSUER.public_key())


def _body(**changes: object) -> certs.CertificateBody:
    fields: dict[str, object] = dict(
        serial_number=bytes.fromhex("0102030405060708"),
        ca_identifier=ISSUER_ID,
        subject_identifier=certs.key_identifier(SUBJECT.public_key()),
        key_usage=certs.KEY_USAGE_SIGNATURE,
        expiry_date=datetime.date(2045, 12, 31),
        authority_key_identifier=ISSUER_ID,
        public_key=SUBJECT.public_key(),
        curve=ecc.BRAINPOOL_P256R1,
        effective_date=datetime.date(2025, 1, 1),
        certificate_type=certs.CERTIFICATE_TYPE_SM_DP,
    )
    fields.update(changes)
    return certs.CertificateBody(**fields)  # type: ignore[arg-type]


CERT = certs.sign_certificate(_body(), ISSUER)


def _assemble(tlvs: list[tuple[int, bytes]], signer: ec.EllipticCurvePrivateKey = ISSUER) -> bytes:
    """A 7F21 from raw TLVs, signed over all of them (for malformed-layout cases)."""
    signed = b"".join(encode_tlv(tag, value) for tag, value in tlvs)
    return encode_tlv(0x7F21, signed + encode_tlv(0x5F37, ecc.sign(signer, signed)))


def _fields_of(cert: certs.Certificate) -> list[tuple[int, bytes]]:
    return decode_list(cert.signed_data)


def test_layout_of_a_built_certificate() -> None:
    raw = CERT.encoded
    assert raw[:2] == b"\x7f\x21" and raw[2] == 0x81  # BER length once the value passes 127
    tags = [tag for tag, _ in _fields_of(CERT)]
    assert tags == [0x93, 0x42, 0x5F20, 0x95, 0x5F25, 0x5F24, 0x73, 0x7F49]
    fields = dict(_fields_of(CERT))
    assert fields[0x95] == b"\x82\x00"
    assert fields[0x5F24] == bytes.fromhex("20451231") and fields[0x5F25] == bytes.fromhex(
        "20250101")
    assert fields[0x73] == b"\xc8\x01\x01\xc9\x14" + ISSUER_ID
    point = ecc.encode_point(SUBJECT.public_key())
    assert fields[0x7F49] == b"\xb0\x41" + point + b"\xf0\x01\x03"
    assert raw.endswith(b"\x5f\x37\x40" + CERT.signature)
    assert raw[4 : 4 + len(CERT.signed_data)] == CERT.signed_data  # after 7F21 81 xx


def test_parse_round_trip_and_verify() -> None:
    parsed = certs.parse_certificate(CERT.encoded)
    assert parsed == CERT
    certs.verify_certificate(
        parsed,
        ISSUER.public_key(),
        issuer_key_identifier=ISSUER_ID,
        certificate_type=certs.CERTIFICATE_TYPE_SM_DP,
        key_usage=certs.KEY_USAGE_SIGNATURE,
        subject_identifier=certs.key_identifier(SUBJECT.public_key()),
    )


def test_optional_fields_round_trip() -> None:
    body = _body(effective_date=None, certificate_type=None, image_number=b"\x01\x02",
                 key_usage=certs.KEY_USAGE_KEY_AGREEMENT,
                 discretionary_extra=((0xCA, b"\x05"),))
    cert = certs.sign_certificate(body, ISSUER)
    assert [tag for tag, _ in _fields_of(cert)] == [
        0x93, 0x42, 0x5F20, 0x95, 0x5F24, 0x45, 0x73, 0x7F49]
    assert certs.parse_certificate(cert.encoded) == cert


@pytest.mark.parametrize(
    ("check", "kind"),
    [
        ({"certificate_type": certs.CERTIFICATE_TYPE_SM_SR}, certs.CertificateFailure.WRONG_TYPE),
        ({"issuer_key_identifier": bytes(20)}, certs.CertificateFailure.WRONG_ISSUER),
        ({"key_usage": certs.KEY_USAGE_KEY_AGREEMENT}, certs.CertificateFailure.WRONG_KEY_USAGE),
        ({"subject_identifier": b"\x89"}, certs.CertificateFailure.WRONG_SUBJECT),
    ],
)
def test_verify_checks_expectations(check: dict[str, object], kind: certs.CertificateFailure
                                    ) -> None:
    with pytest.raises(certs.CertificateCheckError) as err:
        certs.verify_certificate(CERT, ISSUER.public_key(), **check)  # type: ignore[arg-type]
    assert err.value.kind is kind
    assert isinstance(err.value, CertificateError)


def test_signature_checked_with_the_issuer_key() -> None:
    other = ecc.generate_private_key(ecc.P256, RNG.fork("other"))
    with pytest.raises(certs.CertificateCheckError) as err:
        certs.verify_certificate(CERT, other.public_key())
    assert err.value.kind is certs.CertificateFailure.BAD_SIGNATURE
    # A brainpool issuer key cannot verify a P-256 issuer's signature either.
    with pytest.raises(certs.CertificateCheckError):
        certs.verify_certificate(CERT, SUBJECT.public_key())


def test_tampered_body_or_signature_fails() -> None:
    raw = bytearray(CERT.encoded)
    raw[6] ^= 0x01  # inside the serial number
    with pytest.raises(certs.CertificateCheckError) as err:
        certs.verify_certificate(certs.parse_certificate(bytes(raw)), ISSUER.public_key())
    assert err.value.kind is certs.CertificateFailure.BAD_SIGNATURE
    raw = bytearray(CERT.encoded)
    raw[-1] ^= 0x01
    with pytest.raises(certs.CertificateCheckError):
        certs.verify_certificate(certs.parse_certificate(bytes(raw)), ISSUER.public_key())


def _replace_once(raw: bytes, old: bytes, new: bytes) -> tuple[bytes, int]:
    assert raw.count(old) == 1
    return raw.replace(old, new), raw.index(old)


def test_unknown_curve_reference() -> None:
    # 05 is brainpoolP384r1, not supported here (PROTOCOL.md §1.8).
    raw, offset = _replace_once(CERT.encoded, b"\xf0\x01\x03", b"\xf0\x01\x05")
    with pytest.raises(certs.CertificateCheckError) as err:
        certs.parse_certificate(raw)
    assert err.value.kind is certs.CertificateFailure.MALFORMED and err.value.offset == offset


def test_point_not_on_the_curve() -> None:
    point = ecc.encode_point(SUBJECT.public_key())
    bad = point[:-1] + bytes([point[-1] ^ 1])
    raw, offset = _replace_once(CERT.encoded, b"\xb0\x41" + point, b"\xb0\x41" + bad)
    with pytest.raises(certs.CertificateCheckError) as err:
        certs.parse_certificate(raw)
    assert err.value.offset == offset


def test_point_of_the_wrong_curve_size() -> None:
    # A P-256 point declared as brainpool is not on brainpoolP256r1.
    raw, _ = _replace_once(CERT.encoded, b"\xf0\x01\x03", b"\xf0\x01\x00")
    with pytest.raises(certs.CertificateCheckError):
        certs.parse_certificate(raw)


def _layout_case(change: str) -> tuple[list[tuple[int, bytes]], int]:
    """Malformed field lists and the index of the TLV the error must point at."""
    fields = _fields_of(CERT)
    if change == "swap":
        fields[0], fields[1] = fields[1], fields[0]
        return fields, 0
    if change == "missing":
        return [f for f in fields if f[0] != 0x95], 3
    if change == "unknown":
        return [*fields[:2], (0x99, b"\x00"), *fields[2:]], 2
    if change == "key_usage":
        return [(t, b"\x00\x80\x00" if t == 0x95 else v) for t, v in fields], 3
    if change == "date":
        return [(t, bytes.fromhex("20251301") if t == 0x5F24 else v) for t, v in fields], 5
    if change == "bcd":
        return [(t, bytes.fromhex("20A51201") if t == 0x5F24 else v) for t, v in fields], 5
    if change == "serial":
        return [(t, b"" if t == 0x93 else v) for t, v in fields], 0
    raise AssertionError(change)


@pytest.mark.parametrize(
    "change", ["swap", "missing", "unknown", "key_usage", "date", "bcd", "serial"]
)
def test_malformed_layouts_point_at_the_field(change: str) -> None:
    fields, index = _layout_case(change)
    raw = _assemble(fields)
    assert raw[2] == 0x81
    offsets = [4]
    for tag, value in fields:
        offsets.append(offsets[-1] + len(encode_tlv(tag, value)))
    with pytest.raises(certs.CertificateCheckError) as err:
        certs.parse_certificate(raw)
    assert err.value.kind is certs.CertificateFailure.MALFORMED
    assert err.value.offset == offsets[index]


def test_discretionary_data_rules() -> None:
    fields = _fields_of(CERT)
    for inner, what in [(b"\xc8\x01\x01", "no C9"), (b"\xc8\x01\x07\xc9\x01\x01", "type 07"),
                        (b"\xc9\x01\x01\xc9\x01\x02", "repeated C9")]:
        raw = _assemble([(t, inner if t == 0x73 else v) for t, v in fields])
        with pytest.raises(certs.CertificateCheckError) as err:
            certs.parse_certificate(raw)
        assert err.value.kind is certs.CertificateFailure.MALFORMED, what


def test_signature_length_checked() -> None:
    signed = CERT.signed_data
    raw = encode_tlv(0x7F21, signed + encode_tlv(0x5F37, bytes(10)))
    with pytest.raises(certs.CertificateCheckError) as err:
        certs.parse_certificate(raw)
    assert err.value.offset == 4 + len(signed)  # after the 7F21 81 xx header


@pytest.mark.parametrize(
    ("raw", "kind", "offset"),
    [
        (CERT.encoded[:-1], TlvErrorKind.VALUE_PAST_END, 2),
        (CERT.encoded + b"\x00", TlvErrorKind.TRAILING_BYTES, len(CERT.encoded)),
        (b"\x7f\x4e" + CERT.encoded[2:], TlvErrorKind.UNEXPECTED_TAG, 0),
        (b"", TlvErrorKind.TRUNCATED_TAG, 0),
    ],
)
def test_tlv_level_errors(raw: bytes, kind: TlvErrorKind, offset: int) -> None:
    with pytest.raises(TlvError) as err:
        certs.parse_certificate(raw)
    assert (err.value.kind, err.value.offset) == (kind, offset)


def test_dates() -> None:
    assert certs.encode_date(datetime.date(2031, 2, 3)) == bytes.fromhex("20310203")
    assert certs.decode_date(bytes.fromhex("20310203"), 0) == datetime.date(2031, 2, 3)
    for bad in ("203102", "2031020F", "20310230"):
        with pytest.raises(certs.CertificateCheckError) as err:
            certs.decode_date(bytes.fromhex(bad), 9)
        assert err.value.offset == 9


_identifiers = st.binary(min_size=1, max_size=40)
_dates = st.dates(datetime.date(1990, 1, 1), datetime.date(2099, 12, 31))


@settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow])
@given(
    serial=st.binary(min_size=1, max_size=20),
    ca=_identifiers,
    subject=_identifiers,
    usage=st.integers(0, 0xFFFF),
    expiry=_dates,
    effective=st.one_of(st.none(), _dates),
    image=st.one_of(st.none(), _identifiers),
    kind=st.one_of(st.none(), st.sampled_from(sorted(certs.CERTIFICATE_TYPES))),
    aki=_identifiers,
    extra=st.lists(st.tuples(st.sampled_from([0xCA, 0xCB, 0xDF20]), st.binary(max_size=8)),
                   max_size=3, unique_by=lambda item: item[0]),
)
def test_round_trip_of_random_fields(
    serial: bytes, ca: bytes, subject: bytes, usage: int, expiry: datetime.date,
    effective: datetime.date | None, image: bytes | None, kind: int | None, aki: bytes,
    extra: list[tuple[int, bytes]],
) -> None:
    body = _body(serial_number=serial, ca_identifier=ca, subject_identifier=subject,
                 key_usage=usage, expiry_date=expiry, effective_date=effective,
                 image_number=image, certificate_type=kind, authority_key_identifier=aki,
                 discretionary_extra=tuple(extra))
    cert = certs.sign_certificate(body, ISSUER)
    parsed = certs.parse_certificate(cert.encoded)
    assert parsed == cert
    certs.verify_certificate(parsed, ISSUER.public_key(), issuer_key_identifier=aki)


@settings(max_examples=200)
@given(st.integers(0, len(CERT.encoded) - 1), st.integers(1, 255), st.integers(0, 40))
def test_mutations_raise_only_typed_errors(index: int, flip: int, cut: int) -> None:
    raw = bytearray(CERT.encoded)
    raw[index] ^= flip
    mutated = bytes(raw[: len(raw) - cut])
    try:
        parsed = certs.parse_certificate(mutated)
    except TlvError as err:
        assert 0 <= err.offset <= len(mutated)
        return
    except certs.CertificateCheckError as err:
        assert err.offset is not None and 0 <= err.offset <= len(mutated)
        return
    with pytest.raises(certs.CertificateCheckError):
        certs.verify_certificate(parsed, ISSUER.public_key())


def _with_discretionary(certificate: bytes, template: bytes) -> bytes:
    """``certificate`` whose ``73`` value is replaced by ``template`` (signature left as is)."""
    raw = bytes(certificate)
    outer = read_header(raw, 0, len(raw))
    fields = [raw[i.offset : i.end] for i in iter_tlvs(raw, outer[1], len(raw))]
    fields = [encode_tlv(0x73, template) if f[0] == 0x73 else f for f in fields]
    return encode_tlv(certs.TAG_CERTIFICATE, b"".join(fields))


@pytest.mark.parametrize(
    ("template", "misplaced"),
    [
        ("C914" + ISSUER_ID.hex() + "C80101", "C8"),  # type after C9
        ("110102 C80101 C914" + ISSUER_ID.hex(), "C8"),  # other data before the type
        ("110102 C914" + ISSUER_ID.hex(), "C9"),
    ],
)
def test_discretionary_data_order_is_strict(template: str, misplaced: str) -> None:
    # Regression (fuzz_certs): an extra TLV before C9 parsed, but CertificateBody.encode()
    # then wrote it after C9, so the body no longer re-encoded to its signed bytes.
    genuine = certs.sign_certificate(_body(), ISSUER).encoded
    raw = _with_discretionary(genuine, bytes.fromhex(template))
    with pytest.raises(CertificateError, match=f"tag {misplaced} out of order") as err:
        certs.parse_certificate(raw)
    assert raw[err.value.offset] == int(misplaced, 16)  # type: ignore[attr-defined]


def test_extra_discretionary_data_after_c9_round_trips() -> None:
    genuine = certs.sign_certificate(_body(), ISSUER).encoded
    raw = _with_discretionary(genuine, bytes.fromhex("C80101 C914" + ISSUER_ID.hex() + "110102"))
    parsed = certs.parse_certificate(raw)
    assert parsed.body.discretionary_extra == ((0x11, b"\x02"),)
    assert parsed.body.encode() == parsed.signed_data
