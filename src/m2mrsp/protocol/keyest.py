"""ES8.EstablishISDPKeySet, GP Amd E scenario #3 with SM-DP signature (PROTOCOL.md §4).

The byte layouts here are [N] (one implementation, Njiwa) or [D] (simulation decisions made in
PROTOCOL.md §4.4-4.6 and §11 U6-U12). Each such choice is a named module constant, marked [N] or
[D] where it is defined, so a corrected reading changes one line:

* :data:`SCENARIO_PARAMETER` ``0A`` (DR added, certificate verified) [D], no SDIN/HostID;
* :data:`KEY_VERSION_NUMBER` ``30`` and :data:`FIRST_KEY_ID` ``01`` [D];
* :data:`SEQUENCE_COUNTER` empty (``91 00``) [N];
* signed data = DGI 3A02 ‖ DGI 7F49 ‖ DGI 0085(RC) [N] (U7);
* RC and DR of :data:`CHALLENGE_LENGTH` / :data:`DERIVATION_RANDOM_LENGTH` = 16 bytes [D] (U11);
* SharedInfo = usage ‖ type ‖ length ‖ DR ‖ LV(HostID) ‖ LV(SIN) ‖ LV(SDIN) [N] (U8);
* KeyData of :data:`KEY_DATA_LENGTH` = 64 bytes: receipt key, ENC, MAC, DEK [D] (U9);
* receipt = AES-CMAC(receipt key, A6 CRT TLV ‖ 85 10 DR) [N] (U10), without ``7F49``.

Known shortcoming: CRTs carrying an SDIN (``45``) are coded and parsed but refused by both
stateful classes, because the SIN that SharedInfo then needs has no known source.
Python cannot zeroise memory: "wiping" a secret here means dropping the last reference.
"""

from __future__ import annotations

import enum
import hmac
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from cryptography.hazmat.primitives.asymmetric import ec

from m2mrsp.crypto import ecc
from m2mrsp.crypto.cmac import aes_cmac
from m2mrsp.crypto.kdf import DEFAULT_KDF, kdf_by_name
from m2mrsp.errors import KeyEstablishmentError, TlvError
from m2mrsp.protocol import apdu, certs, dgi
from m2mrsp.rng import RandomSource
from m2mrsp.timing import span
from m2mrsp.tlv import Buffer, encode_tlv, iter_tlvs, read_header

if TYPE_CHECKING:
    from m2mrsp.entities.ecasd import Ecasd

logger = logging.getLogger(__name__)

# --- A6 key-agreement CRT (PROTOCOL.md §4.5) -----------------------------------------------------
TAG_CRT: Final = 0xA6
TAG_SCENARIO: Final = 0x90
TAG_KEY_USAGE: Final = 0x95
TAG_KEY_ACCESS: Final = 0x96
TAG_KEY_TYPE: Final = 0x80
TAG_KEY_LENGTH: Final = 0x81
TAG_KEY_ID: Final = 0x82
TAG_KEY_VERSION: Final = 0x83
TAG_SEQUENCE_COUNTER: Final = 0x91
TAG_SDIN: Final = 0x45
TAG_HOST_ID: Final = 0x84

SCENARIO_ID: Final = 0x03
PARAMETER_DERIVATION_RANDOM: Final = 0x02  # [N]
PARAMETER_SDIN_HOST_ID: Final = 0x04  # [N]
PARAMETER_CERTIFICATE_VERIFIED: Final = 0x08  # [N]
KNOWN_PARAMETER_BITS: Final = (
    PARAMETER_DERIVATION_RANDOM | PARAMETER_SDIN_HOST_ID | PARAMETER_CERTIFICATE_VERIFIED
)
# [D] PROTOCOL.md §4.5: DR added + certificate verified, no SDIN/HostID.
SCENARIO_PARAMETER: Final = PARAMETER_DERIVATION_RANDOM | PARAMETER_CERTIFICATE_VERIFIED
# [N]/[A] full SCP03 key set (ENC/MAC/DEK), GP key usage first byte.
KEY_USAGE_QUALIFIER: Final = 0x5C
KEY_TYPE_AES: Final = 0x88
KEY_LENGTH: Final = 0x10
FIRST_KEY_ID: Final = 0x01  # [D]
KEY_VERSION_NUMBER: Final = 0x30  # [D]
SEQUENCE_COUNTER: Final = b""  # [N] Njiwa always sends 91 00
SEQUENCE_COUNTER_LENGTHS: Final = frozenset((0, 2, 3, 5, 8))
SHARED_INFO_LV_MAX: Final = 0x7F

# --- DGIs, STORE DATA codings and responses (PROTOCOL.md §4.4-4.5) -------------------------------
DGI_CERTIFICATE: Final = 0x3A01
DGI_KEY_AGREEMENT_CRT: Final = 0x3A02
DGI_EPHEMERAL_KEY: Final = 0x7F49
DGI_SIGNATURE: Final = 0x5F37
DGI_CHALLENGE: Final = 0x0085  # [N] RC wrapped as DGI 0085 in the signed data (U7)
CERTIFICATE_P1: Final = apdu.store_data_p1(last=False, response=True)  # 09
CERTIFICATE_BLOCK: Final = 0x00
KEY_AGREEMENT_P1: Final = apdu.store_data_p1(last=True, response=True)  # 89
KEY_AGREEMENT_BLOCK: Final = 0x01
TAG_CHALLENGE: Final = 0x85
TAG_DERIVATION_RANDOM: Final = 0x85
TAG_RECEIPT: Final = 0x86
CHALLENGE_LENGTH: Final = 16  # [D] U11
DERIVATION_RANDOM_LENGTH: Final = 16  # [D] U11
RECEIPT_LENGTH: Final = 16

# --- key data (PROTOCOL.md §4.6) -----------------------------------------------------------------
# [D] U9: receipt key, Key-ENC, Key-MAC, Key-DEK, 16 bytes each.
KEY_DATA_LENGTH: Final = 4 * KEY_LENGTH


class KeyAgreementFailure(enum.Enum):
    """Why a scenario #3 step was refused."""

    MALFORMED = "malformed data"
    WRONG_ORDER = "command out of order"
    WRONG_CERTIFICATE_TYPE = "certificate of the wrong type"
    BAD_CERTIFICATE = "certificate not accepted"
    BAD_SIGNATURE = "key-agreement signature does not verify"
    BAD_POINT = "bad ephemeral public key"
    UNSUPPORTED = "unsupported key-agreement parameters"
    RECEIPT_MISMATCH = "receipt does not match"


# [D] PROTOCOL.md §4.4: the status word a card answers each refusal with.
FAILURE_STATUS_WORDS: Final = {
    KeyAgreementFailure.MALFORMED: apdu.SW_WRONG_DATA,
    KeyAgreementFailure.WRONG_ORDER: apdu.SW_CONDITIONS_NOT_SATISFIED,
    KeyAgreementFailure.WRONG_CERTIFICATE_TYPE: apdu.SW_CONDITIONS_NOT_SATISFIED,
    KeyAgreementFailure.BAD_CERTIFICATE: apdu.SW_SECURITY_STATUS_NOT_SATISFIED,
    KeyAgreementFailure.BAD_SIGNATURE: apdu.SW_SECURITY_STATUS_NOT_SATISFIED,
    KeyAgreementFailure.BAD_POINT: apdu.SW_WRONG_DATA,
    KeyAgreementFailure.UNSUPPORTED: apdu.SW_WRONG_DATA,
    KeyAgreementFailure.RECEIPT_MISMATCH: apdu.SW_SECURITY_STATUS_NOT_SATISFIED,
}


class KeyAgreementError(KeyEstablishmentError):
    """A refused scenario #3 step; ``offset`` points into the command data when it applies."""

    def __init__(self, kind: KeyAgreementFailure, detail: str, offset: int | None = None) -> None:
        self.kind = kind
        self.offset = offset
        where = f" at offset {offset}" if offset is not None else ""
        super().__init__(f"{kind.value}{where}: {detail}")

    @property
    def sw(self) -> int:
        """The status word a card answers with."""
        return FAILURE_STATUS_WORDS[self.kind]


def _malformed(detail: str, offset: int | None) -> KeyAgreementError:
    return KeyAgreementError(KeyAgreementFailure.MALFORMED, detail, offset)


# --- the CRT ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyAgreementCrt:
    """The ``A6`` control reference template; defaults are the [D] simulation values."""

    scenario_parameter: int = SCENARIO_PARAMETER
    key_usage: int = KEY_USAGE_QUALIFIER
    key_type: int = KEY_TYPE_AES
    key_length: int = KEY_LENGTH
    key_id: int = FIRST_KEY_ID
    key_version: int = KEY_VERSION_NUMBER
    key_access: int | None = None
    sequence_counter: bytes | None = SEQUENCE_COUNTER
    sdin: bytes | None = None
    host_id: bytes | None = None

    @property
    def derivation_random(self) -> bool:
        """True when the card adds a derivation random DR (parameter bit ``02``)."""
        return bool(self.scenario_parameter & PARAMETER_DERIVATION_RANDOM)

    def encode(self) -> bytes:
        """The whole ``A6`` TLV, fields in the PROTOCOL.md §4.5 order."""
        out = encode_tlv(TAG_SCENARIO, bytes((SCENARIO_ID, self.scenario_parameter)))
        out += encode_tlv(TAG_KEY_USAGE, bytes((self.key_usage,)))
        if self.key_access is not None:
            out += encode_tlv(TAG_KEY_ACCESS, bytes((self.key_access,)))
        for tag, value in ((TAG_KEY_TYPE, self.key_type), (TAG_KEY_LENGTH, self.key_length),
                           (TAG_KEY_ID, self.key_id), (TAG_KEY_VERSION, self.key_version)):
            out += encode_tlv(tag, bytes((value,)))
        for tag, optional in ((TAG_SEQUENCE_COUNTER, self.sequence_counter),
                              (TAG_SDIN, self.sdin), (TAG_HOST_ID, self.host_id)):
            if optional is not None:
                out += encode_tlv(tag, optional)
        return encode_tlv(TAG_CRT, out)


DEFAULT_CRT: Final = KeyAgreementCrt()
_ONE_BYTE_TAGS: Final = (TAG_KEY_USAGE, TAG_KEY_TYPE, TAG_KEY_LENGTH, TAG_KEY_ID, TAG_KEY_VERSION)
_CRT_TAGS: Final = frozenset(
    (TAG_SCENARIO, TAG_KEY_ACCESS, TAG_SEQUENCE_COUNTER, TAG_SDIN, TAG_HOST_ID, *_ONE_BYTE_TAGS)
)


def _crt_fields(buf: Buffer, start: int, end: int) -> dict[int, tuple[int, bytes]]:
    """``tag -> (offset, value)`` of the CRT's TLVs; unknown or repeated tags refused."""
    found: dict[int, tuple[int, bytes]] = {}
    for item in iter_tlvs(buf, start, end):
        if item.tag not in _CRT_TAGS or item.tag in found:
            raise _malformed(f"unexpected or repeated tag {item.tag:X} in A6", item.offset)
        found[item.tag] = (item.offset, item.value(buf))
    return found


def parse_crt(buf: Buffer, start: int = 0, end: int | None = None) -> KeyAgreementCrt:
    """Decode the ``A6`` TLV filling ``buf[start:end]``; offsets are reported in ``buf``.

    Raises:
        TlvError: malformed TLV encoding.
        KeyAgreementError: (``MALFORMED``) not ``A6``, unknown, repeated, missing or
            wrongly sized fields, scenario other than 3.
    """
    stop = len(buf) if end is None else end
    tag, value_offset, length = read_header(buf, start, stop)
    if tag != TAG_CRT or value_offset + length != stop:
        raise _malformed("not exactly one A6 CRT", start)
    fields = _crt_fields(buf, value_offset, stop)
    for required in (TAG_SCENARIO, *_ONE_BYTE_TAGS):
        if required not in fields:
            raise _malformed(f"A6 lacks tag {required:X}", start)
    offset, scenario = fields[TAG_SCENARIO]
    if len(scenario) != 2 or scenario[0] != SCENARIO_ID:
        raise _malformed(f"scenario {scenario.hex()} is not 03 + parameter", offset)
    one_byte = {tag: _one_byte(fields, tag) for tag in _ONE_BYTE_TAGS}
    access = _one_byte(fields, TAG_KEY_ACCESS) if TAG_KEY_ACCESS in fields else None
    counter = fields.get(TAG_SEQUENCE_COUNTER)
    if counter is not None and len(counter[1]) not in SEQUENCE_COUNTER_LENGTHS:
        raise _malformed("sequence counter of a length not 0/2/3/5/8", counter[0])
    return KeyAgreementCrt(
        scenario_parameter=scenario[1],
        key_usage=one_byte[TAG_KEY_USAGE],
        key_type=one_byte[TAG_KEY_TYPE],
        key_length=one_byte[TAG_KEY_LENGTH],
        key_id=one_byte[TAG_KEY_ID],
        key_version=one_byte[TAG_KEY_VERSION],
        key_access=access,
        sequence_counter=None if counter is None else counter[1],
        sdin=_lv_field(fields, TAG_SDIN),
        host_id=_lv_field(fields, TAG_HOST_ID),
    )


def _one_byte(fields: dict[int, tuple[int, bytes]], tag: int) -> int:
    offset, value = fields[tag]
    if len(value) != 1:
        raise _malformed(f"tag {tag:X} is not one byte", offset)
    return value[0]


def _lv_field(fields: dict[int, tuple[int, bytes]], tag: int) -> bytes | None:
    """An identifier that enters SharedInfo as a one-byte LV."""
    if tag not in fields:
        return None
    offset, value = fields[tag]
    if not 1 <= len(value) <= SHARED_INFO_LV_MAX:
        raise _malformed(f"tag {tag:X} length outside 1..{SHARED_INFO_LV_MAX}", offset)
    return value


def check_supported(crt: KeyAgreementCrt) -> None:
    """Refuse CRTs this simulation cannot honour (both sides call it).

    Raises:
        KeyAgreementError: (``UNSUPPORTED``) unknown parameter bits, SDIN/HostID presence not
            matching bit ``04``, an SDIN (no SIN source), or a key set other than AES-128
            ENC/MAC/DEK.
    """
    problem = None
    if crt.scenario_parameter & ~KNOWN_PARAMETER_BITS:
        problem = f"scenario parameter {crt.scenario_parameter:02X} has unknown bits"
    elif bool(crt.scenario_parameter & PARAMETER_SDIN_HOST_ID) != (
        crt.sdin is not None or crt.host_id is not None
    ):
        problem = "SDIN/HostID presence does not match parameter bit 04"
    elif crt.sdin is not None:
        problem = "SDIN in SharedInfo needs a SIN, which this simulation does not have"
    elif (crt.key_usage, crt.key_type, crt.key_length) != (
        KEY_USAGE_QUALIFIER, KEY_TYPE_AES, KEY_LENGTH
    ):
        problem = "key set other than AES-128 ENC/MAC/DEK (95 5C, 80 88, 81 10)"
    if problem is not None:
        raise KeyAgreementError(KeyAgreementFailure.UNSUPPORTED, problem)


# --- command and response bytes ----------------------------------------------------------------


def encode_ephemeral_key(public_key: ec.EllipticCurvePublicKey, curve: ecc.Curve) -> bytes:
    """The value of DGI ``7F49``: ``B0 41 04‖X‖Y F0 01 ref`` (PROTOCOL.md §4.5)."""
    return certs.encode_public_key_fields(ecc.encode_point(public_key), curve)


def signed_data(crt_dgi: bytes, key_dgi: bytes, challenge: bytes) -> bytes:
    """What ``SK.DP.ECDSA`` signs: the two DGIs exactly as sent, then DGI ``0085`` {RC} [N]."""
    return crt_dgi + key_dgi + dgi.encode_dgi(DGI_CHALLENGE, challenge)


def build_certificate_command(certificate: bytes) -> apdu.CommandApdu:
    """APDU 2: ``80 E2 09 00 Lc 3A01 L <CERT.DP.ECDSA>`` (PROTOCOL.md §4.4)."""
    data = dgi.encode_dgi(DGI_CERTIFICATE, certificate)
    return apdu.build_store_data(data, CERTIFICATE_P1, CERTIFICATE_BLOCK)


def parse_certificate_command(data: Buffer) -> bytes:
    """The certificate bytes of APDU 2's data (GP or BER DGI lengths, [D] U6).

    Raises:
        KeyAgreementError: (``MALFORMED``) not exactly one DGI ``3A01``; offset of the bad field.
    """
    try:
        return dgi.decode_single_dgi(data, DGI_CERTIFICATE)
    except TlvError as err:
        raise _malformed(str(err), err.offset) from None


def build_key_agreement_command(
    crt_tlv: bytes, ephemeral_key_fields: bytes, signature: bytes
) -> apdu.CommandApdu:
    """APDU 3: ``80 E2 89 01 Lc 3A02{A6} 7F49{B0 F0} 5F37{r‖s}`` (PROTOCOL.md §4.5)."""
    data = (dgi.encode_dgi(DGI_KEY_AGREEMENT_CRT, crt_tlv)
            + dgi.encode_dgi(DGI_EPHEMERAL_KEY, ephemeral_key_fields)
            + dgi.encode_dgi(DGI_SIGNATURE, signature))
    return apdu.build_store_data(data, KEY_AGREEMENT_P1, KEY_AGREEMENT_BLOCK)


@dataclass(frozen=True)
class KeyAgreementCommand:
    """APDU 3 as the card reads it; ``signed_prefix`` = DGI 3A02 ‖ DGI 7F49 as received."""

    crt: KeyAgreementCrt
    crt_tlv: bytes
    ephemeral_point: bytes
    ephemeral_point_offset: int
    curve: ecc.Curve
    signature: bytes
    signed_prefix: bytes


_KEY_AGREEMENT_DGIS: Final = (DGI_KEY_AGREEMENT_CRT, DGI_EPHEMERAL_KEY, DGI_SIGNATURE)


def parse_key_agreement_command(data: Buffer) -> KeyAgreementCommand:
    """Decode APDU 3's data. The ephemeral point is located, not yet validated (the ECASD does).

    Raises:
        KeyAgreementError: ``MALFORMED`` (DGIs not 3A02, 7F49, 5F37 in that order, bad CRT,
            empty signature) or ``BAD_POINT`` (7F49 not ``B0`` + known ``F0``); offsets in
            ``data``.
    """
    raw = bytes(data)
    try:
        items = list(dgi.iter_dgis(raw))
        for index, item in enumerate(items):
            if index >= len(_KEY_AGREEMENT_DGIS) or item.tag != _KEY_AGREEMENT_DGIS[index]:
                raise _malformed(f"unexpected DGI {item.tag:04X}", item.offset)
        if len(items) != len(_KEY_AGREEMENT_DGIS):
            raise _malformed("APDU 3 needs DGIs 3A02, 7F49 and 5F37", len(raw))
        crt_item, key_item, signature_item = items
        crt = parse_crt(raw, crt_item.value_offset, crt_item.end)
    except TlvError as err:
        raise _malformed(str(err), err.offset) from None
    try:
        point_item, curve = certs.split_public_key_fields(raw, key_item.value_offset, key_item.end)
    except (TlvError, certs.CertificateCheckError) as err:
        raise KeyAgreementError(KeyAgreementFailure.BAD_POINT, str(err), err.offset) from None
    if signature_item.length == 0:
        raise _malformed("empty signature", signature_item.offset)
    return KeyAgreementCommand(
        crt=crt,
        crt_tlv=crt_item.value(raw),
        ephemeral_point=point_item.value(raw),
        ephemeral_point_offset=point_item.offset,
        curve=curve,
        signature=signature_item.value(raw),
        signed_prefix=raw[crt_item.offset : key_item.end],
    )


def encode_challenge_response(challenge: bytes) -> bytes:
    """APDU 2 response data: ``85 10 RC``."""
    return encode_tlv(TAG_CHALLENGE, challenge)


def _response_items(data: Buffer, layout: tuple[tuple[int, int], ...]) -> list[bytes]:
    """The values of TLVs with exactly the ``(tag, length)`` pairs of ``layout``, in order."""
    raw = bytes(data)
    try:
        items = list(iter_tlvs(raw))
    except TlvError as err:
        raise _malformed(f"response: {err}", err.offset) from None
    if [item.tag for item in items] != [tag for tag, _ in layout]:
        raise _malformed("response is not " + " ".join(f"{t:02X}" for t, _ in layout), 0)
    for item, (tag, length) in zip(items, layout, strict=True):
        if item.length != length:
            raise _malformed(f"{tag:02X} value is not {length} bytes", item.offset)
    return [item.value(raw) for item in items]


def parse_challenge_response(data: Buffer) -> bytes:
    """RC from APDU 2's response data ``85 10 RC``.

    Raises:
        KeyAgreementError: (``MALFORMED``) anything else.
    """
    return _response_items(data, ((TAG_CHALLENGE, CHALLENGE_LENGTH),))[0]


def encode_key_agreement_response(derivation_random: bytes | None, receipt: bytes) -> bytes:
    """APDU 3 response data: ``[85 10 DR] 86 10 receipt``."""
    prefix = b"" if derivation_random is None else encode_tlv(TAG_DERIVATION_RANDOM,
                                                              derivation_random)
    return prefix + encode_tlv(TAG_RECEIPT, receipt)


def parse_key_agreement_response(data: Buffer, with_dr: bool) -> tuple[bytes | None, bytes]:
    """``(DR or None, receipt)`` from APDU 3's response data.

    Raises:
        KeyAgreementError: (``MALFORMED``) DR presence not as ``with_dr`` says, wrong sizes.
    """
    receipt = (TAG_RECEIPT, RECEIPT_LENGTH)
    if with_dr:
        dr, value = _response_items(data, ((TAG_DERIVATION_RANDOM, DERIVATION_RANDOM_LENGTH),
                                           receipt))
        return dr, value
    return None, _response_items(data, (receipt,))[0]


# --- derivation and receipt (PROTOCOL.md §4.6) --------------------------------------------------


def shared_info(crt: KeyAgreementCrt, derivation_random: bytes | None, sin: bytes = b"") -> bytes:
    """SharedInfo [N] (U8): usage ‖ type ‖ length ‖ DR ‖ LV(HostID) ‖ LV(SIN) ‖ LV(SDIN).

    HostID and SDIN enter only when the CRT carries them; ``sin`` only with an SDIN.
    """
    out = bytes((crt.key_usage, crt.key_type, crt.key_length))
    out += derivation_random or b""
    if crt.host_id is not None:
        out += bytes((len(crt.host_id),)) + crt.host_id
    if crt.sdin is not None:
        out += bytes((len(sin),)) + sin + bytes((len(crt.sdin),)) + crt.sdin
    return out


def derive_key_data(
    shared_secret: bytes, info: bytes, kdf: str = DEFAULT_KDF, length: int = KEY_DATA_LENGTH
) -> bytes:
    """KeyData = KDF(ShS, SharedInfo); ``kdf`` names one of ``m2mrsp.crypto.kdf.KDFS``.

    Raises:
        ValueError: unknown KDF name.
    """
    function = kdf_by_name(kdf)
    with span("kdf"):
        return function(shared_secret, info, length)


@dataclass(frozen=True)
class IsdpKeys:
    """The ISD-P SCP03 key set created by scenario #3 (keys kept out of ``repr``)."""

    key_version: int
    key_ids: tuple[int, int, int]
    enc: bytes = field(repr=False)
    mac: bytes = field(repr=False)
    dek: bytes = field(repr=False)


def split_key_data(key_data: bytes, crt: KeyAgreementCrt) -> tuple[bytes, IsdpKeys]:
    """``(receipt key, key set)`` from KeyData [D] U9: receipt, ENC (ID), MAC (ID+1), DEK (ID+2).

    Raises:
        ValueError: ``key_data`` shorter than four keys of the CRT's length.
    """
    size = crt.key_length
    if len(key_data) < 4 * size:
        raise ValueError(f"KeyData of {len(key_data)} bytes cannot hold four {size}-byte keys")
    receipt_key, enc, mac, dek = (key_data[i * size : (i + 1) * size] for i in range(4))
    ids = (crt.key_id, (crt.key_id + 1) & 0xFF, (crt.key_id + 2) & 0xFF)
    return receipt_key, IsdpKeys(crt.key_version, ids, enc, mac, dek)


def receipt_input(crt_tlv: bytes, derivation_random: bytes | None) -> bytes:
    """What the receipt MACs [N] U10: the A6 TLV as sent ‖ ``85 10 DR`` (when DR is present)."""
    if derivation_random is None:
        return crt_tlv
    return crt_tlv + encode_tlv(TAG_DERIVATION_RANDOM, derivation_random)


def compute_receipt(receipt_key: bytes, crt_tlv: bytes, derivation_random: bytes | None) -> bytes:
    """Receipt = full 16-byte AES-CMAC(receipt key, receipt input) (plain CMAC, no pre-padding)."""
    with span("receipt"):
        return aes_cmac(receipt_key, receipt_input(crt_tlv, derivation_random))


def receipts_equal(expected: bytes, received: bytes) -> bool:
    """Constant-time comparison of two receipts."""
    return hmac.compare_digest(expected, received)


def _derive(
    shared_secret: bytes,
    crt: KeyAgreementCrt,
    crt_tlv: bytes,
    derivation_random: bytes | None,
    kdf: str,
) -> tuple[bytes, IsdpKeys]:
    """``(receipt, key set)`` from ShS, as both ends compute them."""
    key_data = derive_key_data(shared_secret, shared_info(crt, derivation_random), kdf)
    receipt_key, keys = split_key_data(key_data, crt)
    return compute_receipt(receipt_key, crt_tlv, derivation_random), keys


# --- the two ends ---------------------------------------------------------------------------------


class _OffCardState(enum.Enum):
    READY = "ready"
    CHALLENGED = "waiting for the receipt"
    DONE = "done"
    FAILED = "failed"


class OffCardKeyAgreement:
    """SM-DP side of scenario #3: APDU 2, then APDU 3 from RC, then the receipt check.

    The ephemeral key pair is drawn on the ECASD's curve when APDU 3 is built and dropped once
    the receipt has been checked (or on failure).
    """

    def __init__(
        self,
        *,
        dp_certificate: bytes,
        dp_private_key: ec.EllipticCurvePrivateKey,
        ecasd_certificate: bytes,
        eum_public_key: ec.EllipticCurvePublicKey,
        rng: RandomSource,
        eid: bytes | None = None,
        crt: KeyAgreementCrt = DEFAULT_CRT,
        kdf: str = DEFAULT_KDF,
    ) -> None:
        """Verify ``CERT.ECASD.ECKA`` with the EUM key (key usage ``0080``, EID when given).

        Raises:
            TlvError, CertificateError: the ECASD certificate is malformed or not accepted.
            KeyAgreementError: (``UNSUPPORTED``) a CRT this simulation cannot honour.
            ValueError: unknown KDF name.
        """
        check_supported(crt)
        kdf_by_name(kdf)
        ecasd = certs.parse_certificate(ecasd_certificate)
        certs.verify_certificate(
            ecasd,
            eum_public_key,
            issuer_key_identifier=certs.key_identifier(eum_public_key),
            key_usage=certs.KEY_USAGE_KEY_AGREEMENT,
            subject_identifier=eid,
        )
        self._ecasd_key = ecasd.body.public_key
        self._curve = ecasd.body.curve
        self._dp_certificate = dp_certificate
        self._dp_key = dp_private_key
        self._rng = rng
        self._crt = crt
        self._crt_tlv = crt.encode()
        self._kdf = kdf
        self._ephemeral: ec.EllipticCurvePrivateKey | None = None
        self._state = _OffCardState.READY

    @property
    def ecasd_curve(self) -> ecc.Curve:
        return self._curve

    def certificate_command(self) -> apdu.CommandApdu:
        """APDU 2 carrying ``CERT.DP.ECDSA``."""
        return build_certificate_command(self._dp_certificate)

    def key_agreement_command(self, challenge_response: bytes) -> apdu.CommandApdu:
        """APDU 3 answering the card's ``85 10 RC``: fresh ephemeral key, CRT, signature.

        Raises:
            KeyAgreementError: ``WRONG_ORDER`` if called twice, ``MALFORMED`` response.
        """
        if self._state is not _OffCardState.READY:
            raise KeyAgreementError(
                KeyAgreementFailure.WRONG_ORDER, f"state is {self._state.value}"
            )
        challenge = parse_challenge_response(challenge_response)
        with span("generate ephemeral key"):
            self._ephemeral = ecc.generate_private_key(self._curve, self._rng)
        key_fields = encode_ephemeral_key(self._ephemeral.public_key(), self._curve)
        crt_dgi = dgi.encode_dgi(DGI_KEY_AGREEMENT_CRT, self._crt_tlv)
        key_dgi = dgi.encode_dgi(DGI_EPHEMERAL_KEY, key_fields)
        with span("sign"):
            signature = ecc.sign(self._dp_key, signed_data(crt_dgi, key_dgi, challenge))
        self._state = _OffCardState.CHALLENGED
        return build_key_agreement_command(self._crt_tlv, key_fields, signature)

    def finish(self, response: bytes) -> IsdpKeys:
        """Derive the key set and check the card's receipt; the ephemeral key is dropped.

        Raises:
            KeyAgreementError: ``WRONG_ORDER``, ``MALFORMED`` response, ``RECEIPT_MISMATCH``.
        """
        ephemeral, self._ephemeral = self._ephemeral, None
        if ephemeral is None:
            raise KeyAgreementError(
                KeyAgreementFailure.WRONG_ORDER, f"state is {self._state.value}"
            )
        self._state = _OffCardState.FAILED
        dr, receipt = parse_key_agreement_response(response, self._crt.derivation_random)
        with span("shared secret"):
            shared_secret = ecc.ecdh(ephemeral, self._ecasd_key)
        del ephemeral
        expected, keys = _derive(shared_secret, self._crt, self._crt_tlv, dr, self._kdf)
        if not receipts_equal(expected, receipt):
            raise KeyAgreementError(KeyAgreementFailure.RECEIPT_MISMATCH, "card receipt differs")
        self._state = _OffCardState.DONE
        logger.debug("ISD-P key set %02X established (SM-DP side)", keys.key_version)
        return keys



class OnCardKeyAgreement:
    """ISD-P side of scenario #3, with the ECASD doing the certificate and ECC work.

    ``handle_certificate`` takes APDU 2's data and answers ``85 10 RC``; ``handle_key_agreement``
    takes APDU 3's data, installs the key set (see :attr:`keys`) and answers
    ``[85 10 DR] 86 10 receipt``. A refused APDU 3 sends the card back to waiting for APDU 2.
    """

    def __init__(
        self,
        ecasd: Ecasd,
        rng: RandomSource,
        *,
        kdf: str = DEFAULT_KDF,
        certificate_type: int = certs.CERTIFICATE_TYPE_SM_DP,
    ) -> None:
        """Bind to the card's ECASD; ``certificate_type`` is what APDU 2 must carry (``01``)."""
        kdf_by_name(kdf)
        self._ecasd = ecasd
        self._rng = rng
        self._kdf = kdf
        self._certificate_type = certificate_type
        self._certificate_verified = False
        self._keys: IsdpKeys | None = None

    @property
    def keys(self) -> IsdpKeys | None:
        """The key set once APDU 3 succeeded, else ``None``."""
        return self._keys

    def handle_store_data(self, command: apdu.CommandApdu) -> bytes:
        """Dispatch a STORE DATA of the key establishment on its P1/P2.

        Raises:
            KeyAgreementError: as the two handlers, or ``MALFORMED`` for other P1/P2.
        """
        if (command.p1, command.p2) == (CERTIFICATE_P1, CERTIFICATE_BLOCK):
            return self.handle_certificate(command.data)
        if (command.p1, command.p2) == (KEY_AGREEMENT_P1, KEY_AGREEMENT_BLOCK):
            return self.handle_key_agreement(command.data)
        raise _malformed(f"STORE DATA P1 {command.p1:02X} P2 {command.p2:02X}", 2)

    def handle_certificate(self, data: bytes) -> bytes:
        """APDU 2: verify ``CERT.DP.ECDSA`` through the ECASD and answer ``85 10 RC``.

        Raises:
            KeyAgreementError: ``WRONG_ORDER`` once keys exist, ``MALFORMED``,
                ``WRONG_CERTIFICATE_TYPE`` or ``BAD_CERTIFICATE``.
        """
        if self._keys is not None:
            raise KeyAgreementError(KeyAgreementFailure.WRONG_ORDER, "key set already exists")
        self._certificate_verified = False
        self._ecasd.forget()
        raw = parse_certificate_command(data)
        offset = len(data) - len(raw)
        try:
            certificate = certs.parse_certificate(raw)
        except TlvError as err:
            raise _malformed(f"certificate: {err}", offset + err.offset) from None
        except certs.CertificateCheckError as err:
            raise _malformed(f"certificate: {err}", offset + (err.offset or 0)) from None
        challenge = self._ecasd.verify_certificate(certificate, self._certificate_type)
        self._certificate_verified = True
        return encode_challenge_response(challenge)

    def handle_key_agreement(self, data: bytes) -> bytes:
        """APDU 3: verify, agree, derive, install the key set and answer with the receipt.

        Raises:
            KeyAgreementError: ``WRONG_ORDER`` before a certificate, ``MALFORMED``,
                ``UNSUPPORTED``, ``BAD_POINT`` or ``BAD_SIGNATURE``.
        """
        if not self._certificate_verified or self._keys is not None:
            raise KeyAgreementError(KeyAgreementFailure.WRONG_ORDER, "no verified certificate")
        self._certificate_verified = False
        try:
            command = parse_key_agreement_command(data)
            check_supported(command.crt)
        except KeyAgreementError:
            self._ecasd.forget()
            raise
        shared_secret = self._ecasd.agree(command)
        dr = self._rng.bytes(DERIVATION_RANDOM_LENGTH) if command.crt.derivation_random else None
        receipt, self._keys = _derive(shared_secret, command.crt, command.crt_tlv, dr, self._kdf)
        logger.debug("ISD-P key set %02X installed", self._keys.key_version)
        return encode_key_agreement_response(dr, receipt)
