"""SAIP Profile Element primitives: the CHOICE tag table, PEHeader, DER scalars.

The profile package is DER-encoded ``ProfileElement`` CHOICE values back to back (TCA
``PEDefinitions`` with AUTOMATIC TAGS, PROTOCOL.md §8.1-8.3). This module names the
alternatives, reads and writes the ``PEHeader`` every PE but ``header`` starts with, and codes
the DER scalars (INTEGER, OBJECT IDENTIFIER, ICCID BCD) the other SAIP modules share.

Scalar decoders raise :class:`~m2mrsp.errors.ProfileError` with status ``bad-values`` (3)
and ``offset=None``: the caller knows which PE it is reading and adds identification and offset.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from m2mrsp.errors import ProfileError, TlvError
from m2mrsp.tlv import encode_tlv, iter_tlvs, read_header


class Status(enum.IntEnum):
    """PEStatus ``status`` named values (PROTOCOL.md §6.4), re-exported by ``saip.response``.

    ISO status words (24576-28671, 36864-40959) and proprietary codes stay plain ints.
    """

    OK = 0
    PE_NOT_SUPPORTED = 1
    MEMORY_FAILURE = 2
    BAD_VALUES = 3
    NOT_ENOUGH_MEMORY = 4
    INVALID_REQUEST_FORMAT = 5
    INVALID_PARAMETER = 6
    RUNTIME_NOT_SUPPORTED = 7
    LIB_NOT_SUPPORTED = 8
    TEMPLATE_NOT_SUPPORTED = 9
    FEATURE_NOT_SUPPORTED = 10
    PIN_CODE_MISSING = 11
    UNSUPPORTED_PROFILE_VERSION = 31


# §8.2: ProfileElement CHOICE alternatives, tag -> ASN.1 name.
TAG_HEADER = 0xA0
TAG_GENERIC_FILE_MANAGEMENT = 0xA1
TAG_PIN_CODES = 0xA2
TAG_PUK_CODES = 0xA3
TAG_AKA_PARAMETER = 0xA4
TAG_CDMA_PARAMETER = 0xA5
TAG_SECURITY_DOMAIN = 0xA6
TAG_RFM = 0xA7
TAG_APPLICATION = 0xA8
TAG_NON_STANDARD = 0xA9
TAG_END = 0xAA
TAG_MF = 0xB0
TAG_CD = 0xB1
TAG_TELECOM = 0xB2
TAG_USIM = 0xB3
TAG_OPT_USIM = 0xB4
TAG_ISIM = 0xB5
TAG_OPT_ISIM = 0xB6
TAG_PHONEBOOK = 0xB7
TAG_GSM_ACCESS = 0xB8
TAG_CSIM = 0xB9
TAG_OPT_CSIM = 0xBA
TAG_EAP = 0xBB
TAG_DF_5GS = 0xBC
TAG_DF_SAIP = 0xBD
TAG_DF_SNPN = 0xBE
TAG_DF_5GPROSE = 0xBF1F
TAG_IOT = 0xBF20
TAG_OPT_IOT = 0xBF21

PE_NAMES: dict[int, str] = {
    TAG_HEADER: "header",
    TAG_GENERIC_FILE_MANAGEMENT: "genericFileManagement",
    TAG_PIN_CODES: "pinCodes",
    TAG_PUK_CODES: "pukCodes",
    TAG_AKA_PARAMETER: "akaParameter",
    TAG_CDMA_PARAMETER: "cdmaParameter",
    TAG_SECURITY_DOMAIN: "securityDomain",
    TAG_RFM: "rfm",
    TAG_APPLICATION: "application",
    TAG_NON_STANDARD: "nonStandard",
    TAG_END: "end",
    0xAB: "rfu1",
    0xAC: "rfu2",
    0xAD: "rfu3",
    0xAE: "rfu4",
    0xAF: "rfu5",
    TAG_MF: "mf",
    TAG_CD: "cd",
    TAG_TELECOM: "telecom",
    TAG_USIM: "usim",
    TAG_OPT_USIM: "opt-usim",
    TAG_ISIM: "isim",
    TAG_OPT_ISIM: "opt-isim",
    TAG_PHONEBOOK: "phonebook",
    TAG_GSM_ACCESS: "gsm-access",
    TAG_CSIM: "csim",
    TAG_OPT_CSIM: "opt-csim",
    TAG_EAP: "eap",
    TAG_DF_5GS: "df-5gs",
    TAG_DF_SAIP: "df-saip",
    TAG_DF_SNPN: "df-snpn",
    TAG_DF_5GPROSE: "df-5gprose",
    TAG_IOT: "iot",
    TAG_OPT_IOT: "opt-iot",
}

# The rfu alternatives are empty placeholders (PE-Dummy): nothing to install, handled as unknown.
RFU_TAGS = frozenset({0xAB, 0xAC, 0xAD, 0xAE, 0xAF})

# PEHeader (§8.3): member [0] of every PE but header, and its members.
TAG_PEHEADER = 0xA0
TAG_PEHEADER_MANDATED = 0x80
TAG_PEHEADER_IDENTIFICATION = 0x81
MAX_UINT8 = 0xFF
MAX_UINT15 = 0x7FFF
MAX_UINT16 = 0xFFFF
MAX_UINT31 = 0x7FFFFFFF

# ServicesList (ProfileHeader eUICC-Mandatory-services): member n is tag 0x80 + n.
SERVICE_NAMES: tuple[str, ...] = (
    "contactless", "usim", "isim", "csim", "milenage", "tuak128", "cave", "gba-usim",
    "gba-isim", "mbms", "eap", "javacard", "multos", "multiple-usim", "multiple-isim",
    "multiple-csim", "tuak256", "usim-test-algorithm", "ber-tlv", "dfLink", "cat-tp",
    "get-identity", "profile-a-x25519", "profile-b-p256", "suciCalculatorApi",
    "dns-resolution", "scp11ac", "scp11c-authorization-mechanism", "s16mode", "eaka",
)
SERVICE_TAGS: dict[str, int] = {name: 0x80 + n for n, name in enumerate(SERVICE_NAMES)}

ICCID_LENGTH = 10

# AlgoParameter algorithmID (akaParameter, §8.4).
ALGORITHM_MILENAGE = 1
ALGORITHM_TUAK = 2
ALGORITHM_TEST = 3


def pe_name(tag: int) -> str:
    """The ASN.1 alternative name of a PE tag, or ``unknown-<tag hex>``."""
    return PE_NAMES.get(tag, f"unknown-{tag:X}")


def is_known_pe(tag: int) -> bool:
    """True for a tag this interpreter installs (the §8.2 table without the rfu placeholders)."""
    return tag in PE_NAMES and tag not in RFU_TAGS


def context_tag(number: int, constructed: bool = True) -> int:
    """The context-specific tag ``[number]`` (``A2`` for 2, ``BF 20`` for 32 when constructed)."""
    first = 0xA0 if constructed else 0x80
    if number < 0x1F:
        return first | number
    if number >= 0x80:
        raise ValueError(f"context tag number {number} needs more than two tag octets")
    return ((first | 0x1F) << 8) | number


def context_number(tag: int) -> int | None:
    """The number of a context-specific tag of one or two octets, else ``None``."""
    if tag <= 0xFF:
        return tag & 0x1F if tag & 0xC0 == 0x80 and tag & 0x1F != 0x1F else None
    if tag <= 0xFFFF and (tag >> 8) & 0xDF == 0x9F and 0x1F <= tag & 0xFF < 0x80:
        return tag & 0xFF
    return None


@dataclass(frozen=True, slots=True)
class PEHeader:
    """``PEHeader ::= SEQUENCE { mandated NULL OPTIONAL, identification UInt15 }`` (§8.3)."""

    mandated: bool
    identification: int

    def encode(self) -> bytes:
        """The ``A0`` TLV (``A0 05 80 00 81 01 04`` for mandated id 4)."""
        body = encode_tlv(TAG_PEHEADER_MANDATED, b"") if self.mandated else b""
        body += encode_tlv(TAG_PEHEADER_IDENTIFICATION, encode_uint(self.identification))
        return encode_tlv(TAG_PEHEADER, body)


def decode_uint(value: bytes, maximum: int, what: str = "INTEGER") -> int:
    """A DER INTEGER that must lie in ``0..maximum``.

    Raises:
        ProfileError: bad-values for an empty, non-minimal, negative or too large INTEGER.
    """
    number = decode_int(value, what)
    if not 0 <= number <= maximum:
        raise ProfileError(f"{what} {number} outside 0..{maximum}", Status.BAD_VALUES)
    return number


def decode_int(value: bytes, what: str = "INTEGER") -> int:
    """A DER INTEGER (two's complement, minimal).

    Raises:
        ProfileError: bad-values for an empty or non-minimal encoding.
    """
    if not value:
        raise ProfileError(f"empty {what}", Status.BAD_VALUES)
    if len(value) > 1 and (
        (value[0] == 0x00 and value[1] < 0x80) or (value[0] == 0xFF and value[1] >= 0x80)
    ):
        raise ProfileError(f"{what} not minimally encoded", Status.BAD_VALUES)
    return int.from_bytes(value, "big", signed=True)


def encode_uint(number: int) -> bytes:
    """DER INTEGER content of a non-negative number (``0x81`` -> ``00 81``)."""
    if number < 0:
        raise ValueError(f"negative value {number} for an unsigned INTEGER")
    return number.to_bytes(number.bit_length() // 8 + 1, "big")


def decode_oid(value: bytes) -> str:
    """A DER OBJECT IDENTIFIER as dotted text (``67 81 0F 01 02 01`` -> ``2.23.143.1.2.1``).

    Raises:
        ProfileError: bad-values for an empty OID, a sub-identifier with a leading ``80`` byte
            or one cut short.
    """
    if not value:
        raise ProfileError("empty OBJECT IDENTIFIER", Status.BAD_VALUES)
    arcs: list[int] = []
    current = 0
    fresh = True
    for byte in value:
        if fresh and byte == 0x80:
            raise ProfileError("OBJECT IDENTIFIER arc not minimal", Status.BAD_VALUES)
        current = (current << 7) | (byte & 0x7F)
        fresh = not byte & 0x80
        if fresh:
            arcs.append(current)
            current = 0
    if not fresh:
        raise ProfileError("OBJECT IDENTIFIER cut inside an arc", Status.BAD_VALUES)
    first = min(arcs[0] // 40, 2)
    return ".".join(str(arc) for arc in (first, arcs[0] - 40 * first, *arcs[1:]))


def encode_oid(dotted: str) -> bytes:
    """DER content of a dotted OBJECT IDENTIFIER."""
    numbers = [int(part) for part in dotted.split(".")]
    if len(numbers) < 2 or numbers[0] > 2 or (numbers[0] < 2 and numbers[1] >= 40):
        raise ValueError(f"invalid OBJECT IDENTIFIER {dotted!r}")
    out = bytearray()
    for arc in (40 * numbers[0] + numbers[1], *numbers[2:]):
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return bytes(out)


def oid_within(oid: str, arc: str) -> bool:
    """True when ``oid`` is ``arc`` itself or lies under it."""
    return oid == arc or oid.startswith(arc + ".")


def decode_iccid(value: bytes) -> str:
    """The ProfileHeader ``iccid`` (10 BCD bytes, not swapped, ``F``-padded) as digits.

    Raises:
        ProfileError: bad-values for a wrong length, a non-decimal digit or padding that is not
            only at the end.
    """
    if len(value) != ICCID_LENGTH:
        raise ProfileError(f"ICCID of {len(value)} bytes, not {ICCID_LENGTH}", Status.BAD_VALUES)
    digits = value.hex().upper().rstrip("F")
    if not digits.isdigit() or len(digits) < 18:
        raise ProfileError(f"ICCID {value.hex().upper()} is not BCD", Status.BAD_VALUES)
    return digits


def encode_iccid(iccid: str) -> bytes:
    """The 10-byte header form of an 18-20 digit ICCID (``F``-padded, not swapped)."""
    if not iccid.isdigit() or not 18 <= len(iccid) <= 2 * ICCID_LENGTH:
        raise ProfileError(f"ICCID {iccid!r} is not 18 to 20 digits", Status.BAD_VALUES)
    return bytes.fromhex(iccid.ljust(2 * ICCID_LENGTH, "F"))


def swap_nibbles(data: bytes) -> bytes:
    """Swap the two nibbles of every byte (header ICCID <-> EF.ICCID content)."""
    return bytes(((b & 0x0F) << 4) | (b >> 4) for b in data)


def peek_pe_header(pe: bytes) -> PEHeader | None:
    """The PEHeader of a complete PE TLV, read one level at a time, or ``None``.

    Used before (and whatever) the full walk, so that errors and warnings can name the PE.
    ``None`` when the first member is not a well-formed ``A0`` PEHeader (``header`` itself,
    the rfu placeholders, a broken PE).
    """
    try:
        _, value_offset, length = read_header(pe, 0, len(pe))
        tag, start, size = read_header(pe, value_offset, value_offset + length)
        if tag != TAG_PEHEADER:
            return None
        items = list(iter_tlvs(pe, start, start + size))
        mandated = bool(items) and items[0].tag == TAG_PEHEADER_MANDATED and not items[0].length
        rest = items[1:] if mandated else items
        if len(rest) != 1 or rest[0].tag != TAG_PEHEADER_IDENTIFICATION:
            return None
        return PEHeader(mandated, decode_uint(rest[0].value(pe), MAX_UINT15))
    except (TlvError, ProfileError):
        return None
