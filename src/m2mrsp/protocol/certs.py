"""GP Amendment E certificates: CERT.DP.ECDSA, CERT.SR.ECDSA, CERT.ECASD.ECKA (PROTOCOL.md §4.2).

Layout (SGP.02 v3.1 Table 23, v4.x Tables 76-78, as digested), BER lengths throughout::

    7F21 { 93 serial | 42 CA identifier | 5F20 subject identifier | 95 key usage (2)
           | [5F25 effective date] | 5F24 expiry date | [45 image number]
           | 73 { [C8 type] C9 authority key identifier ... } | 7F49 { B0 point  F0 curve ref }
           | 5F37 signature }

The signature is ECDSA-SHA-256, plain ``r ‖ s``, over every TLV from ``93`` up to and including
``7F49`` exactly as encoded. Dates are 4-byte BCD ``YYYYMMDD``; the card checks no dates
(PROTOCOL.md §4.2). Parsing is strict: field order, presence, lengths, BCD digits, the curve
reference and the point are all checked, and every error carries the offset of the bad TLV in
the certificate bytes.
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from m2mrsp.crypto import ecc
from m2mrsp.errors import CertificateError, KeyEstablishmentError
from m2mrsp.timing import span
from m2mrsp.tlv import Buffer, TlvItem, decode_single, encode_tlv, iter_tlvs, read_header

TAG_CERTIFICATE: Final = 0x7F21
TAG_SERIAL_NUMBER: Final = 0x93
TAG_CA_IDENTIFIER: Final = 0x42
TAG_SUBJECT_IDENTIFIER: Final = 0x5F20
TAG_KEY_USAGE: Final = 0x95
TAG_EFFECTIVE_DATE: Final = 0x5F25
TAG_EXPIRY_DATE: Final = 0x5F24
TAG_IMAGE_NUMBER: Final = 0x45
TAG_DISCRETIONARY_DATA: Final = 0x73
TAG_CERTIFICATE_TYPE: Final = 0xC8
TAG_AUTHORITY_KEY_IDENTIFIER: Final = 0xC9
TAG_PUBLIC_KEY: Final = 0x7F49
TAG_PUBLIC_POINT: Final = 0xB0
TAG_KEY_PARAMETER_REFERENCE: Final = 0xF0
TAG_SIGNATURE: Final = 0x5F37

CERTIFICATE_TYPE_SM_DP: Final = 0x01
CERTIFICATE_TYPE_SM_SR: Final = 0x02
CERTIFICATE_TYPES: Final = frozenset((CERTIFICATE_TYPE_SM_DP, CERTIFICATE_TYPE_SM_SR))

KEY_USAGE_KEY_AGREEMENT: Final = 0x0080
# [D] PROTOCOL.md §4.2 / U12: verification + digital signature bits for DP/SR certificates.
KEY_USAGE_SIGNATURE: Final = 0x8200
KEY_USAGE_LENGTH: Final = 2
DATE_LENGTH: Final = 4
SERIAL_NUMBER_MAX: Final = 20
SIGNATURE_LENGTHS: Final = frozenset(2 * curve.size for curve in ecc.CURVES.values())

_OPTIONAL: Final = frozenset((TAG_EFFECTIVE_DATE, TAG_IMAGE_NUMBER))
_LAYOUT: Final = (
    TAG_SERIAL_NUMBER,
    TAG_CA_IDENTIFIER,
    TAG_SUBJECT_IDENTIFIER,
    TAG_KEY_USAGE,
    TAG_EFFECTIVE_DATE,
    TAG_EXPIRY_DATE,
    TAG_IMAGE_NUMBER,
    TAG_DISCRETIONARY_DATA,
    TAG_PUBLIC_KEY,
    TAG_SIGNATURE,
)


class CertificateFailure(enum.Enum):
    """Why a certificate was rejected."""

    MALFORMED = "malformed"
    WRONG_TYPE = "wrong certificate type"
    WRONG_ISSUER = "authority key identifier does not name the signer"
    BAD_SIGNATURE = "signature does not verify"
    WRONG_KEY_USAGE = "wrong key usage"
    WRONG_SUBJECT = "wrong subject identifier"


class CertificateCheckError(CertificateError):
    """A certificate rejected for ``kind``; ``offset`` locates the bad TLV when it applies."""

    def __init__(self, kind: CertificateFailure, detail: str, offset: int | None = None) -> None:
        self.kind = kind
        self.offset = offset
        where = f" at offset {offset}" if offset is not None else ""
        super().__init__(f"certificate {kind.value}{where}: {detail}")


def _malformed(detail: str, offset: int) -> CertificateCheckError:
    return CertificateCheckError(CertificateFailure.MALFORMED, detail, offset)


def key_identifier(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """Subject key identifier of a public key: SHA-1 of the point (RFC 5280 §4.2.1.2 method 1).

    [D] the test PKI's choice for ``5F20``, ``42`` and ``C9``; a real CI may use another method.
    """
    return x509.SubjectKeyIdentifier.from_public_key(public_key).digest


def encode_date(day: datetime.date) -> bytes:
    """4-byte BCD ``YYYYMMDD``."""
    return bytes.fromhex(f"{day.year:04d}{day.month:02d}{day.day:02d}")


def decode_date(value: bytes, offset: int) -> datetime.date:
    """Read a 4-byte BCD date; ``offset`` is reported on error.

    Raises:
        CertificateCheckError: not 4 bytes, a nibble above 9, or not a calendar date.
    """
    digits = value.hex()
    if len(value) != DATE_LENGTH or not digits.isdigit():
        raise _malformed("date is not 4 BCD bytes YYYYMMDD", offset)
    try:
        return datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        raise _malformed(f"date {digits} is not a calendar date", offset) from None


def encode_public_key_fields(point: bytes, curve: ecc.Curve) -> bytes:
    """The content of a ``7F49`` template: ``B0 ‖ L ‖ point ‖ F0 01 ‖ curve reference``."""
    return encode_tlv(TAG_PUBLIC_POINT, point) + encode_tlv(
        TAG_KEY_PARAMETER_REFERENCE, bytes((curve.key_parameter_reference,))
    )


def split_public_key_fields(buf: Buffer, start: int, end: int) -> tuple[TlvItem, ecc.Curve]:
    """Locate ``B0 point ‖ F0 ref`` in ``buf[start:end]`` without decoding the point.

    Returns:
        ``(B0 item, curve named by F0)``; offsets are in ``buf``.

    Raises:
        TlvError: malformed TLVs.
        CertificateCheckError: (``MALFORMED``) other tags or order, or an unknown curve
            reference; offset of the bad TLV (``end`` when one is missing).
    """
    items = list(iter_tlvs(buf, start, end))
    layout = (TAG_PUBLIC_POINT, TAG_KEY_PARAMETER_REFERENCE)
    for index, item in enumerate(items):
        if index >= len(layout) or item.tag != layout[index]:
            raise _malformed("public key template is not B0 then F0", item.offset)
    if len(items) != len(layout):
        raise _malformed("public key template lacks B0 or F0", end)
    point_item, ref_item = items
    ref = ref_item.value(buf)
    curve = ecc.CURVES_BY_REFERENCE.get(ref[0]) if len(ref) == 1 else None
    if curve is None:
        raise _malformed(f"unknown key parameter reference {ref.hex()}", ref_item.offset)
    return point_item, curve


def parse_public_key_fields(
    buf: Buffer, start: int, end: int
) -> tuple[ec.EllipticCurvePublicKey, ecc.Curve]:
    """Read ``B0 point ‖ F0 ref`` in ``buf[start:end]``, validating the point on that curve.

    Raises:
        TlvError: malformed TLVs.
        CertificateCheckError: (``MALFORMED``) as :func:`split_public_key_fields`, or a point
            that is not an uncompressed point on the curve (offset of ``B0``).
    """
    point_item, curve = split_public_key_fields(buf, start, end)
    try:
        key = ecc.decode_point(curve, point_item.value(buf))
    except KeyEstablishmentError as err:
        raise _malformed(str(err), point_item.offset) from None
    return key, curve


@dataclass(frozen=True)
class CertificateBody:
    """The signed fields of a certificate (``93`` .. ``7F49``)."""

    serial_number: bytes
    ca_identifier: bytes
    subject_identifier: bytes
    key_usage: int
    expiry_date: datetime.date
    authority_key_identifier: bytes
    public_key: ec.EllipticCurvePublicKey
    curve: ecc.Curve
    effective_date: datetime.date | None = None
    image_number: bytes | None = None
    certificate_type: int | None = None
    discretionary_extra: tuple[tuple[int, bytes], ...] = ()

    def encode(self) -> bytes:
        """The signed data: the TLVs from ``93`` through ``7F49``."""
        out = encode_tlv(TAG_SERIAL_NUMBER, self.serial_number)
        out += encode_tlv(TAG_CA_IDENTIFIER, self.ca_identifier)
        out += encode_tlv(TAG_SUBJECT_IDENTIFIER, self.subject_identifier)
        out += encode_tlv(TAG_KEY_USAGE, self.key_usage.to_bytes(KEY_USAGE_LENGTH, "big"))
        if self.effective_date is not None:
            out += encode_tlv(TAG_EFFECTIVE_DATE, encode_date(self.effective_date))
        out += encode_tlv(TAG_EXPIRY_DATE, encode_date(self.expiry_date))
        if self.image_number is not None:
            out += encode_tlv(TAG_IMAGE_NUMBER, self.image_number)
        out += encode_tlv(TAG_DISCRETIONARY_DATA, self._discretionary())
        point = ecc.encode_point(self.public_key)
        return out + encode_tlv(TAG_PUBLIC_KEY, encode_public_key_fields(point, self.curve))

    def _discretionary(self) -> bytes:
        out = b""
        if self.certificate_type is not None:
            out += encode_tlv(TAG_CERTIFICATE_TYPE, bytes((self.certificate_type,)))
        out += encode_tlv(TAG_AUTHORITY_KEY_IDENTIFIER, self.authority_key_identifier)
        return out + b"".join(encode_tlv(tag, value) for tag, value in self.discretionary_extra)


@dataclass(frozen=True)
class Certificate:
    """A certificate with its bytes: ``signed_data`` exactly as encoded, and the whole ``7F21``."""

    body: CertificateBody
    signed_data: bytes
    signature: bytes
    encoded: bytes


def sign_certificate(
    body: CertificateBody, signer: ec.EllipticCurvePrivateKey
) -> Certificate:
    """Encode ``body`` and sign it with ``signer`` (ECDSA-SHA-256, plain ``r ‖ s``)."""
    signed_data = body.encode()
    with span("sign"):
        signature = ecc.sign(signer, signed_data)
    encoded = encode_tlv(TAG_CERTIFICATE, signed_data + encode_tlv(TAG_SIGNATURE, signature))
    return Certificate(body, signed_data, signature, encoded)


def _check_length(item: TlvItem, low: int, high: int, name: str) -> None:
    if not low <= item.length <= high:
        raise _malformed(f"{name} length {item.length} outside {low}..{high}", item.offset)


def _ordered_fields(items: list[TlvItem], end: int) -> dict[int, TlvItem]:
    """Match the top-level TLVs against the fixed layout, optional fields allowed missing."""
    fields: dict[int, TlvItem] = {}
    layout = iter(_LAYOUT)
    for item in items:
        expected = next(layout, None)
        while expected in _OPTIONAL and expected != item.tag:
            expected = next(layout, None)
        if expected != item.tag:
            wanted = "nothing" if expected is None else f"{expected:X}"
            raise _malformed(f"found tag {item.tag:X} where {wanted} belongs", item.offset)
        fields[item.tag] = item
    missing = [tag for tag in _LAYOUT if tag not in fields and tag not in _OPTIONAL]
    if missing:
        raise _malformed(f"missing tag {missing[0]:X}", end)
    return fields


def _parse_discretionary(
    buf: bytes, item: TlvItem
) -> tuple[int | None, bytes, tuple[tuple[int, bytes], ...]]:
    """``(type, authority key identifier, other TLVs)`` of the ``73`` template.

    The order is fixed, as :meth:`CertificateBody.encode` writes it: ``[C8]``, ``C9``, then any
    other TLVs; so what parses re-encodes to the signed bytes.
    """
    inner: dict[int, TlvItem] = {}
    extra: list[tuple[int, bytes]] = []
    seen: set[int] = set()
    for sub in iter_tlvs(buf, item.value_offset, item.end):
        if sub.tag in seen:
            raise _malformed(f"repeated tag {sub.tag:X} in 73", sub.offset)
        seen.add(sub.tag)
        if sub.tag in (TAG_CERTIFICATE_TYPE, TAG_AUTHORITY_KEY_IDENTIFIER):
            if extra or TAG_AUTHORITY_KEY_IDENTIFIER in inner:
                raise _malformed(f"tag {sub.tag:X} out of order in 73", sub.offset)
            inner[sub.tag] = sub
        else:
            extra.append((sub.tag, sub.value(buf)))
    aki = inner.get(TAG_AUTHORITY_KEY_IDENTIFIER)
    if aki is None or aki.length == 0:
        raise _malformed("73 lacks an authority key identifier (C9)", item.offset)
    kind = inner.get(TAG_CERTIFICATE_TYPE)
    if kind is None:
        return None, aki.value(buf), tuple(extra)
    value = kind.value(buf)
    if len(value) != 1 or value[0] not in CERTIFICATE_TYPES:
        raise _malformed(f"unknown certificate type {value.hex()}", kind.offset)
    return value[0], aki.value(buf), tuple(extra)


def parse_certificate(buf: Buffer) -> Certificate:
    """Parse a ``7F21`` certificate that fills ``buf`` exactly, checking every field.

    Does not verify the signature (:func:`verify_certificate` does).

    Raises:
        TlvError: malformed TLV encoding, trailing bytes, or outer tag not ``7F21`` (offset 0).
        CertificateCheckError: (``MALFORMED``) field order, presence, length or value wrong.
    """
    raw = bytes(buf)
    with span("parse certificate"):
        return _parse(raw)


def _parse(raw: bytes) -> Certificate:
    decode_single(raw, TAG_CERTIFICATE)
    _, start, length = read_header(raw, 0, len(raw))
    fields = _ordered_fields(list(iter_tlvs(raw, start, start + length)), start + length)

    _check_length(fields[TAG_SERIAL_NUMBER], 1, SERIAL_NUMBER_MAX, "serial number")
    _check_length(fields[TAG_CA_IDENTIFIER], 1, 0xFFFF, "CA identifier")
    _check_length(fields[TAG_SUBJECT_IDENTIFIER], 1, 0xFFFF, "subject identifier")
    _check_length(fields[TAG_KEY_USAGE], KEY_USAGE_LENGTH, KEY_USAGE_LENGTH, "key usage")
    image = fields.get(TAG_IMAGE_NUMBER)
    if image is not None:
        _check_length(image, 1, 0xFFFF, "image number")
    signature = fields[TAG_SIGNATURE]
    if signature.length not in SIGNATURE_LENGTHS:
        raise _malformed(f"signature of {signature.length} bytes", signature.offset)

    effective = fields.get(TAG_EFFECTIVE_DATE)
    expiry = fields[TAG_EXPIRY_DATE]
    cert_type, aki, extra = _parse_discretionary(raw, fields[TAG_DISCRETIONARY_DATA])
    key_item = fields[TAG_PUBLIC_KEY]
    public_key, curve = parse_public_key_fields(raw, key_item.value_offset, key_item.end)
    body = CertificateBody(
        serial_number=fields[TAG_SERIAL_NUMBER].value(raw),
        ca_identifier=fields[TAG_CA_IDENTIFIER].value(raw),
        subject_identifier=fields[TAG_SUBJECT_IDENTIFIER].value(raw),
        key_usage=int.from_bytes(fields[TAG_KEY_USAGE].value(raw), "big"),
        expiry_date=decode_date(expiry.value(raw), expiry.offset),
        authority_key_identifier=aki,
        public_key=public_key,
        curve=curve,
        effective_date=None if effective is None else decode_date(
            effective.value(raw), effective.offset
        ),
        image_number=None if image is None else image.value(raw),
        certificate_type=cert_type,
        discretionary_extra=extra,
    )
    signed_data = raw[fields[TAG_SERIAL_NUMBER].offset : key_item.end]
    return Certificate(body, signed_data, signature.value(raw), raw)


def verify_certificate(
    certificate: Certificate,
    issuer_key: ec.EllipticCurvePublicKey,
    *,
    issuer_key_identifier: bytes | None = None,
    certificate_type: int | None = None,
    key_usage: int | None = None,
    subject_identifier: bytes | None = None,
) -> None:
    """Check a parsed certificate against what the caller expects, signature last.

    Args:
        issuer_key: the signer's public key (``PK.CI.ECDSA`` or the EUM key).
        issuer_key_identifier: when given, ``C9`` must equal it.
        certificate_type: when given, ``C8`` must equal it.
        key_usage: when given, ``95`` must equal it.
        subject_identifier: when given, ``5F20`` must equal it (e.g. the EID).

    Raises:
        CertificateCheckError: with the failing check's kind.
    """
    body = certificate.body
    if certificate_type is not None and body.certificate_type != certificate_type:
        found = "none" if body.certificate_type is None else f"{body.certificate_type:02X}"
        raise CertificateCheckError(
            CertificateFailure.WRONG_TYPE, f"expected {certificate_type:02X}, found {found}"
        )
    if key_usage is not None and body.key_usage != key_usage:
        found = f"{body.key_usage:04X}"
        raise CertificateCheckError(
            CertificateFailure.WRONG_KEY_USAGE, f"expected {key_usage:04X}, found {found}"
        )
    if subject_identifier is not None and body.subject_identifier != subject_identifier:
        raise CertificateCheckError(CertificateFailure.WRONG_SUBJECT, "subject does not match")
    if issuer_key_identifier is not None and body.authority_key_identifier != issuer_key_identifier:
        raise CertificateCheckError(CertificateFailure.WRONG_ISSUER, "C9 names another key")
    with span("verify certificate"):
        valid = ecc.verify(issuer_key, certificate.signature, certificate.signed_data)
    if not valid:
        raise CertificateCheckError(CertificateFailure.BAD_SIGNATURE, "with the issuer's key")
