"""Short ISO 7816-4 APDUs and the GlobalPlatform commands SGP.02 sends to ISD-R and ISD-P.

Covers PROTOCOL.md §1.4 (AIDs), §3.2-3.3 (INSTALL [for install and make selectable], status
words), §4.3-4.5 (INSTALL [for personalization], STORE DATA) and §7.1-7.2 (ISD-R DGIs
``3A03``/``3A04``/``3A08``, DELETE). Only short APDUs are supported (Lc and Le of one byte;
Le ``00`` means 256): SGP.02 ES5/ES8 commands stay below 256 bytes of data.

Parse errors are :class:`ApduError` with the offset of the bad field: in the APDU bytes for
the parsers taking a :class:`CommandApdu` or raw APDU bytes (data starts at
:data:`DATA_OFFSET`), in the data field for the parsers taking a data field.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from m2mrsp.errors import M2mRspError, TlvError
from m2mrsp.protocol import dgi
from m2mrsp.tlv import Buffer, encode_tlv, iter_tlvs

# --- status words (ISO 7816-4, GP 2.3 §11.1.3; PROTOCOL.md §3.3, §4.4, §7.1) -------------------
SW_OK: Final = 0x9000
SW_MEMORY_FAILURE: Final = 0x6581
SW_WRONG_LENGTH: Final = 0x6700
SW_SECURITY_STATUS_NOT_SATISFIED: Final = 0x6982
SW_CONDITIONS_NOT_SATISFIED: Final = 0x6985
SW_POL1_FORBIDS: Final = 0x69E1
SW_WRONG_DATA: Final = 0x6A80
SW_FUNCTION_NOT_SUPPORTED: Final = 0x6A81
SW_NOT_ENOUGH_MEMORY: Final = 0x6A84
SW_INCORRECT_P1_P2: Final = 0x6A86
SW_REFERENCED_DATA_NOT_FOUND: Final = 0x6A88
SW_INS_NOT_SUPPORTED: Final = 0x6D00
SW_CLA_NOT_SUPPORTED: Final = 0x6E00

# --- AIDs and TARs (SGP.02 Annex H; PROTOCOL.md §1.4) ------------------------------------------
GSMA_RID: Final = bytes.fromhex("A000000559")
GSMA_AID_PREFIX: Final = GSMA_RID + bytes.fromhex("1010FFFFFFFF89")
GSMA_AID_SUFFIX: Final = b"\x00"
TAR_LENGTH: Final = 3
AID_LENGTH: Final = 16
ISD_R_TAR: Final = 0x000001
ECASD_TAR: Final = 0x000002
ISDP_TAR_MIN: Final = 0x000010
ISDP_TAR_MAX: Final = 0x00FFFF


def gsma_aid(tar: int) -> bytes:
    """The 16-byte GSMA AID ``A0000005591010FFFFFFFF89 ‖ TAR ‖ 00`` (SGP.02 Annex H)."""
    return GSMA_AID_PREFIX + tar.to_bytes(TAR_LENGTH, "big") + GSMA_AID_SUFFIX


ISD_R_AID: Final = gsma_aid(ISD_R_TAR)
ECASD_AID: Final = gsma_aid(ECASD_TAR)
ISDP_LOAD_FILE_AID: Final = gsma_aid(0x00000D)
ISDP_MODULE_AID: Final = gsma_aid(0x00000E)
# [D] PROTOCOL.md §1.4: the SM-SR allocates the first free TAR from here.
FIRST_ISDP_TAR: Final = ISDP_TAR_MIN


def isdp_aid(tar: int) -> bytes:
    """The AID of the ISD-P addressed by ``tar`` (``000010``..``00FFFF``).

    Raises:
        ValueError: ``tar`` outside the ISD-P range.
    """
    if not ISDP_TAR_MIN <= tar <= ISDP_TAR_MAX:
        raise ValueError(f"TAR {tar:06X} outside the ISD-P range")
    return gsma_aid(tar)


def isdp_tar(aid: bytes) -> int | None:
    """The TAR of an ISD-P AID, or ``None`` when ``aid`` is not a GSMA ISD-P AID."""
    if len(aid) != AID_LENGTH or not aid.startswith(GSMA_AID_PREFIX):
        return None
    if not aid.endswith(GSMA_AID_SUFFIX):
        return None
    tar = int.from_bytes(aid[len(GSMA_AID_PREFIX) : -1], "big")
    return tar if ISDP_TAR_MIN <= tar <= ISDP_TAR_MAX else None


# --- GP command codings (GP 2.3 §11) -------------------------------------------------------------
CLA_GP: Final = 0x80
INS_DELETE: Final = 0xE4
INS_INSTALL: Final = 0xE6
INS_STORE_DATA: Final = 0xE2

INSTALL_FOR_INSTALL: Final = 0x04
INSTALL_MAKE_SELECTABLE: Final = 0x08
INSTALL_FOR_PERSONALIZATION: Final = 0x20

STORE_DATA_LAST_BLOCK: Final = 0x80
STORE_DATA_ENCRYPTION_MASK: Final = 0x60
STORE_DATA_STRUCTURE_MASK: Final = 0x18
STORE_DATA_DGI: Final = 0x08
STORE_DATA_BER_TLV: Final = 0x10
STORE_DATA_RESPONSE: Final = 0x01

DELETE_RELATED_OBJECTS: Final = 0x80
TAG_AID: Final = 0x4F
TAG_SEQUENCE_NUMBER: Final = 0x4E
TAG_DELETED_AIDS: Final = 0x80
SEQUENCE_NUMBER_LENGTH: Final = 2

# ISD-P privileges (PROTOCOL.md §3.2): Security Domain; Trusted Path + Authorized Management.
ISDP_PRIVILEGES: Final = bytes.fromhex("80C000")
TAG_APPLICATION_PARAMETERS: Final = 0xC9
TAG_SUPPORTED_SCP: Final = 0x81
ISDP_SUPPORTED_SCP: Final = bytes.fromhex("0370")  # SCP03, i = 70
TAG_SYSTEM_PARAMETERS: Final = 0xEF
TAG_RESERVED_MEMORY: Final = 0x83
RESERVED_MEMORY_LENGTH: Final = 2
# [D] a reservation above 65535 bytes is sent in 4 bytes, as GP codes its extended memory
# quotas; the card accepts either size.
RESERVED_MEMORY_LONG_LENGTH: Final = 4
RESERVED_MEMORY_MAX: Final = (1 << (8 * RESERVED_MEMORY_LONG_LENGTH)) - 1

# ISD-R DGIs (PROTOCOL.md §7.1-7.2, [N]; 3A05/3A06 are [D]).
DGI_ENABLE_PROFILE: Final = 0x3A03
DGI_DISABLE_PROFILE: Final = 0x3A04
DGI_SET_FALLBACK: Final = 0x3A05
DGI_SET_EMERGENCY: Final = 0x3A06
DGI_UPDATE_CONNECTIVITY: Final = 0x3A07
DGI_NOTIFICATION_CONFIRMATION: Final = 0x3A08

SHORT_MAX: Final = 255
LE_MAX: Final = 256
_HEADER: Final = 4
DATA_OFFSET: Final = _HEADER + 1
# GP 2.3 §11.5.3: INSTALL answers a single zero byte (PROTOCOL.md §3.3).
INSTALL_RESPONSE: Final = b"\x00"


class ApduError(M2mRspError, ValueError):
    """A malformed command APDU or command data field.

    Attributes:
        offset: first byte of the bad field.
        sw: the status word a card answers it with.
    """

    def __init__(self, message: str, offset: int, sw: int = SW_WRONG_DATA) -> None:
        self.offset = offset
        self.sw = sw
        super().__init__(f"{message} (offset {offset})")


class ApduCase(enum.IntEnum):
    """ISO 7816-3 command cases."""

    NO_DATA_NO_LE = 1
    LE_ONLY = 2
    DATA_ONLY = 3
    DATA_AND_LE = 4


@dataclass(frozen=True)
class CommandApdu:
    """A short command APDU; ``le`` is the expected length 1..256, ``None`` when absent."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            if not 0 <= getattr(self, name) <= 0xFF:
                raise ValueError(f"{name} {getattr(self, name)} is not one byte")
        if len(self.data) > SHORT_MAX:
            raise ValueError(f"{len(self.data)} data bytes exceed a short APDU")
        if self.le is not None and not 1 <= self.le <= LE_MAX:
            raise ValueError(f"Le {self.le} outside 1..{LE_MAX}")

    @property
    def case(self) -> ApduCase:
        if self.data:
            return ApduCase.DATA_ONLY if self.le is None else ApduCase.DATA_AND_LE
        return ApduCase.NO_DATA_NO_LE if self.le is None else ApduCase.LE_ONLY

    def to_bytes(self) -> bytes:
        """The APDU on the wire: header, ``Lc ‖ data`` if any, ``Le`` if any."""
        out = bytes((self.cla, self.ins, self.p1, self.p2))
        if self.data:
            out += bytes((len(self.data),)) + self.data
        if self.le is not None:
            out += bytes((self.le % LE_MAX,))
        return out


def parse_command(buf: Buffer) -> CommandApdu:
    """Decode a short command APDU of any case.

    Raises:
        ApduError: shorter than 4 bytes (offset = its length), ``Lc`` of zero (extended
            length, not supported) or not matching the bytes that follow (offset 4),
            status ``6700``.
    """
    raw = bytes(buf)
    if len(raw) < _HEADER:
        raise ApduError("APDU shorter than its 4-byte header", len(raw), SW_WRONG_LENGTH)
    cla, ins, p1, p2 = raw[:_HEADER]
    if len(raw) == _HEADER:
        return CommandApdu(cla, ins, p1, p2)
    if len(raw) == _HEADER + 1:
        return CommandApdu(cla, ins, p1, p2, le=raw[_HEADER] or LE_MAX)
    lc = raw[_HEADER]
    if lc == 0:
        raise ApduError("extended-length APDU not supported", _HEADER, SW_WRONG_LENGTH)
    data_end = _HEADER + 1 + lc
    if len(raw) == data_end:
        return CommandApdu(cla, ins, p1, p2, raw[_HEADER + 1 :])
    if len(raw) == data_end + 1:
        return CommandApdu(cla, ins, p1, p2, raw[_HEADER + 1 : data_end], raw[data_end] or LE_MAX)
    raise ApduError(f"Lc {lc} does not match {len(raw) - _HEADER - 1} bytes", _HEADER,
                    SW_WRONG_LENGTH)


def encode_response(data: bytes, sw: int) -> bytes:
    """A response APDU: data ‖ SW1 SW2."""
    return bytes(data) + sw.to_bytes(2, "big")


def split_response(buf: Buffer) -> tuple[bytes, int]:
    """``(data, sw)`` of a response APDU.

    Raises:
        ApduError: fewer than the two status bytes (offset 0).
    """
    raw = bytes(buf)
    if len(raw) < 2:
        raise ApduError("response shorter than its status word", 0, SW_WRONG_LENGTH)
    return raw[:-2], int.from_bytes(raw[-2:], "big")


# --- INSTALL --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstallData:
    """The LV fields of an INSTALL data field (GP 2.3 §11.5.2.3)."""

    load_file_aid: bytes
    module_aid: bytes
    application_aid: bytes
    privileges: bytes
    parameters: bytes
    token: bytes

    def encode(self) -> bytes:
        fields = (self.load_file_aid, self.module_aid, self.application_aid, self.privileges,
                  self.parameters, self.token)
        return b"".join(bytes((len(field),)) + field for field in fields)


def parse_install_data(data: Buffer) -> InstallData:
    """Split an INSTALL data field into its six LV fields.

    Raises:
        ApduError: a length running past the end (offset of that length byte) or bytes left
            after the token (offset of the first of them).
    """
    raw = bytes(data)
    fields: list[bytes] = []
    pos = 0
    for name in ("load file AID", "module AID", "application AID", "privileges",
                 "install parameters", "install token"):
        if pos >= len(raw):
            raise ApduError(f"INSTALL data ends before the {name} length", pos)
        end = pos + 1 + raw[pos]
        if end > len(raw):
            raise ApduError(f"{name} runs past the end of the data", pos)
        fields.append(raw[pos + 1 : end])
        pos = end
    if pos != len(raw):
        raise ApduError("bytes after the install token", pos)
    return InstallData(*fields)


def isdp_install_parameters(required_memory: int = 0) -> bytes:
    """Install parameters of an ISD-P: ``C9 {81 03 70}``, plus ``EF {83 hhll}`` if memory > 0.

    [D] PROTOCOL.md §3.2 / U15: system parameters are sent only for a non-zero RequiredMemory;
    above 65535 bytes the ``83`` value takes :data:`RESERVED_MEMORY_LONG_LENGTH` bytes.

    Raises:
        ValueError: ``required_memory`` outside 0..:data:`RESERVED_MEMORY_MAX`.
    """
    params = encode_tlv(TAG_APPLICATION_PARAMETERS, encode_tlv(TAG_SUPPORTED_SCP,
                                                               ISDP_SUPPORTED_SCP))
    if required_memory:
        if not 0 < required_memory <= RESERVED_MEMORY_MAX:
            raise ValueError(f"required memory {required_memory} does not fit four bytes")
        size = RESERVED_MEMORY_LENGTH if required_memory <= 0xFFFF else (
            RESERVED_MEMORY_LONG_LENGTH)
        memory = required_memory.to_bytes(size, "big")
        params += encode_tlv(TAG_SYSTEM_PARAMETERS, encode_tlv(TAG_RESERVED_MEMORY, memory))
    return params


def build_create_isdp(
    aid: bytes, required_memory: int = 0, le: int | None = LE_MAX
) -> CommandApdu:
    """ES5.CreateISDP: ``INSTALL [for install and make selectable]`` (PROTOCOL.md §3.2).

    Args:
        aid: the new ISD-P's AID.
        required_memory: bytes to reserve; 0 leaves out the ``EF`` system parameters ([D]).
        le: ``Le`` (default ``00``, as the §3.2 ES5 example sends it); ``None`` leaves it out.
    """
    data = InstallData(
        ISDP_LOAD_FILE_AID,
        ISDP_MODULE_AID,
        aid,
        ISDP_PRIVILEGES,
        isdp_install_parameters(required_memory),
        b"",
    ).encode()
    p1 = INSTALL_FOR_INSTALL | INSTALL_MAKE_SELECTABLE
    return CommandApdu(CLA_GP, INS_INSTALL, p1, 0x00, data, le)


@dataclass(frozen=True)
class CreateIsdp:
    """What an ISD-R reads from ES5.CreateISDP."""

    aid: bytes
    privileges: bytes
    supported_scp: bytes
    required_memory: int


def _install_parameter_fields(params: bytes, base: int) -> dict[int, tuple[int, bytes]]:
    """``tag -> (offset of the TLV, value)`` of one level; offsets shifted by ``base``."""
    fields: dict[int, tuple[int, bytes]] = {}
    try:
        for item in iter_tlvs(params):
            if item.tag in fields:
                raise ApduError(f"repeated tag {item.tag:X} in install parameters",
                                base + item.offset)
            fields[item.tag] = (base + item.value_offset, item.value(params))
    except TlvError as err:
        raise ApduError(f"install parameters: {err}", base + err.offset) from None
    return fields


def parse_create_isdp(data: Buffer) -> CreateIsdp:
    """Decode the data field of ES5.CreateISDP (card side).

    Checks the ISD-P load file and module AIDs and the shape of the install parameters; the
    ISD-R decides about the AID range and privileges itself.

    Raises:
        ApduError: with the offset (in ``data``) of the bad field.
    """
    install = parse_install_data(data)
    if install.load_file_aid != ISDP_LOAD_FILE_AID:
        raise ApduError("not the ISD-P executable load file AID", 0)
    if install.module_aid != ISDP_MODULE_AID:
        raise ApduError("not the ISD-P executable module AID", 1 + AID_LENGTH)
    params_offset = 5 + len(install.load_file_aid) + len(install.module_aid) \
        + len(install.application_aid) + len(install.privileges)
    fields = _install_parameter_fields(install.parameters, params_offset)
    if TAG_APPLICATION_PARAMETERS not in fields:
        raise ApduError("install parameters without application parameters (C9)", params_offset)
    scp = _install_parameter_fields(
        fields[TAG_APPLICATION_PARAMETERS][1], fields[TAG_APPLICATION_PARAMETERS][0]
    ).get(TAG_SUPPORTED_SCP)
    if scp is None:
        raise ApduError("application parameters without a supported SCP (81)", params_offset)
    memory = 0
    if TAG_SYSTEM_PARAMETERS in fields:
        system_offset, system = fields[TAG_SYSTEM_PARAMETERS]
        reserved = _install_parameter_fields(system, system_offset).get(TAG_RESERVED_MEMORY)
        if reserved is None or len(reserved[1]) not in (
            RESERVED_MEMORY_LENGTH, RESERVED_MEMORY_LONG_LENGTH
        ):
            raise ApduError("system parameters without a 2- or 4-byte reserved memory (83)",
                            system_offset)
        memory = int.from_bytes(reserved[1], "big")
    return CreateIsdp(install.application_aid, install.privileges, scp[1], memory)


def build_install_for_personalization(aid: bytes) -> CommandApdu:
    """``INSTALL [for personalization]`` of the ISD-P ``aid`` (PROTOCOL.md §4.3)."""
    data = InstallData(b"", b"", aid, b"", b"", b"").encode()
    return CommandApdu(CLA_GP, INS_INSTALL, INSTALL_FOR_PERSONALIZATION, 0x00, data)


def parse_install_for_personalization(data: Buffer) -> bytes:
    """The target AID of ``INSTALL [for personalization]`` (card side).

    Raises:
        ApduError: malformed LV fields or a non-empty field other than the application AID.
    """
    install = parse_install_data(data)
    if install.load_file_aid or install.module_aid:
        raise ApduError("for personalization carries no load file or module AID", 0)
    if not install.application_aid:
        raise ApduError("for personalization without an application AID", 2)
    return install.application_aid


# --- STORE DATA -----------------------------------------------------------------------------------


def store_data_p1(*, last: bool, structure: int = STORE_DATA_DGI, response: bool = False) -> int:
    """STORE DATA P1 (GP 2.3 §11.11.2.1): b8 last block, b5b4 structure, b1 response."""
    return (STORE_DATA_LAST_BLOCK if last else 0) | structure | (
        STORE_DATA_RESPONSE if response else 0)


def build_store_data(data: bytes, p1: int, block: int, le: int | None = None) -> CommandApdu:
    """``STORE DATA`` with the given P1 and block number (P2)."""
    return CommandApdu(CLA_GP, INS_STORE_DATA, p1, block, data, le)


@dataclass(frozen=True)
class StoreData:
    """A decoded STORE DATA command."""

    last: bool
    encryption: int
    structure: int
    response: bool
    block: int
    data: bytes


def parse_store_data(apdu: CommandApdu) -> StoreData:
    """Read the STORE DATA fields of ``apdu``.

    Raises:
        ApduError: not a GP STORE DATA (offset 1, ``6D00``).
    """
    if apdu.cla & 0xF0 != CLA_GP or apdu.ins != INS_STORE_DATA:
        raise ApduError("not a STORE DATA command", 1, SW_INS_NOT_SUPPORTED)
    return StoreData(
        last=bool(apdu.p1 & STORE_DATA_LAST_BLOCK),
        encryption=apdu.p1 & STORE_DATA_ENCRYPTION_MASK,
        structure=apdu.p1 & STORE_DATA_STRUCTURE_MASK,
        response=bool(apdu.p1 & STORE_DATA_RESPONSE),
        block=apdu.p2,
        data=apdu.data,
    )


# --- ISD-R DGIs and DELETE (PROTOCOL.md §7.1-7.2) -------------------------------------------------

_SINGLE_BLOCK_NO_RESPONSE: Final = store_data_p1(last=True)
_SINGLE_BLOCK_WITH_RESPONSE: Final = store_data_p1(last=True, response=True)


def build_enable_profile(aid: bytes) -> CommandApdu:
    """ES5.EnableProfile: ``80 E2 88 00 15 3A03 12 4F 10 <AID>``."""
    data = dgi.encode_dgi(DGI_ENABLE_PROFILE, encode_tlv(TAG_AID, aid))
    return build_store_data(data, _SINGLE_BLOCK_NO_RESPONSE, 0x00)


def build_disable_profile(aid: bytes) -> CommandApdu:
    """ES5.DisableProfile: ``80 E2 88 00 15 3A04 12 4F 10 <AID>``."""
    data = dgi.encode_dgi(DGI_DISABLE_PROFILE, encode_tlv(TAG_AID, aid))
    return build_store_data(data, _SINGLE_BLOCK_NO_RESPONSE, 0x00)


def build_notification_confirmation(sequence_number: int) -> CommandApdu:
    """Notification confirmation: ``80 E2 89 00 07 3A08 04 4E 02 <sequence number>``."""
    number = sequence_number.to_bytes(SEQUENCE_NUMBER_LENGTH, "big")
    data = dgi.encode_dgi(DGI_NOTIFICATION_CONFIRMATION, encode_tlv(TAG_SEQUENCE_NUMBER, number))
    return build_store_data(data, _SINGLE_BLOCK_WITH_RESPONSE, 0x00)


@dataclass(frozen=True)
class IsdrCommand:
    """A decoded ISD-R STORE DATA DGI: ``aid`` for 3A03/3A04, ``sequence_number`` for 3A08."""

    dgi: int
    aid: bytes | None = None
    sequence_number: int | None = None


def _single_field(value: bytes, tag: int, base: int) -> bytes:
    try:
        items = list(iter_tlvs(value))
    except TlvError as err:
        raise ApduError(f"DGI value: {err}", base + err.offset) from None
    if len(items) != 1 or items[0].tag != tag:
        raise ApduError(f"DGI value is not exactly one {tag:02X} TLV", base)
    return items[0].value(value)


def parse_isdr_store_data(data: Buffer) -> IsdrCommand:
    """Decode the DGI of an ISD-R STORE DATA (3A03 enable, 3A04 disable, 3A08 confirmation).

    Raises:
        ApduError: malformed DGI (offset of the bad field), unknown DGI (offset 0,
            ``6A88``), or a value that is not the expected TLV.
    """
    raw = bytes(data)
    try:
        items = list(dgi.iter_dgis(raw))
    except TlvError as err:
        raise ApduError(f"STORE DATA: {err}", err.offset) from None
    if not items:
        raise ApduError("STORE DATA without a DGI", 0)
    if len(items) > 1:
        raise ApduError("STORE DATA carries more than one DGI", items[1].offset)
    item = items[0]
    if item.tag in (DGI_ENABLE_PROFILE, DGI_DISABLE_PROFILE):
        aid = _single_field(item.value(raw), TAG_AID, item.value_offset)
        return IsdrCommand(item.tag, aid=aid)
    if item.tag == DGI_NOTIFICATION_CONFIRMATION:
        number = _single_field(item.value(raw), TAG_SEQUENCE_NUMBER, item.value_offset)
        if len(number) != SEQUENCE_NUMBER_LENGTH:
            raise ApduError("sequence number is not two bytes", item.value_offset)
        return IsdrCommand(item.tag, sequence_number=int.from_bytes(number, "big"))
    raise ApduError(f"unknown ISD-R DGI {item.tag:04X}", 0, SW_REFERENCED_DATA_NOT_FOUND)


def encode_deleted_aids(aids: list[bytes]) -> bytes:
    """Notification-confirmation response ``80 L {4F L AID}*`` (ISD-Ps deleted as follow-up)."""
    return encode_tlv(TAG_DELETED_AIDS, b"".join(encode_tlv(TAG_AID, aid) for aid in aids))


def parse_deleted_aids(data: Buffer) -> list[bytes]:
    """The AIDs of a notification-confirmation response; empty data means none.

    Raises:
        ApduError: not one ``80`` TLV of ``4F`` TLVs (offset of the bad field).
    """
    raw = bytes(data)
    if not raw:
        return []
    try:
        outer = list(iter_tlvs(raw))
        if len(outer) != 1 or outer[0].tag != TAG_DELETED_AIDS:
            raise ApduError("response is not one 80 TLV", 0)
        inner = list(iter_tlvs(raw, outer[0].value_offset, outer[0].end))
    except TlvError as err:
        raise ApduError(f"response: {err}", err.offset) from None
    for item in inner:
        if item.tag != TAG_AID:
            raise ApduError("80 holds something other than AIDs", item.offset)
    return [item.value(raw) for item in inner]


def build_delete(aid: bytes, related: bool = True) -> CommandApdu:
    """DeleteISDP as GP DELETE: ``80 E4 00 80 12 4F 10 <AID>`` ([A], PROTOCOL.md §7.2 / U14).

    Args:
        related: P2 ``80``, delete the object and its related objects (GP coding).
    """
    p2 = DELETE_RELATED_OBJECTS if related else 0x00
    return CommandApdu(CLA_GP, INS_DELETE, 0x00, p2, encode_tlv(TAG_AID, aid))


def parse_delete(apdu: CommandApdu) -> tuple[bytes, bool]:
    """``(aid, related)`` of a GP DELETE (card side).

    Raises:
        ApduError: not a DELETE, P1 other than ``00`` (one command), P2 other than ``00``/``80``,
            or a data field that is not one ``4F`` TLV.
    """
    if apdu.cla & 0xF0 != CLA_GP or apdu.ins != INS_DELETE:
        raise ApduError("not a DELETE command", 1, SW_INS_NOT_SUPPORTED)
    if apdu.p1 != 0x00:
        raise ApduError(f"DELETE P1 {apdu.p1:02X}: only a last (or only) command", 2,
                        SW_INCORRECT_P1_P2)
    if apdu.p2 not in (0x00, DELETE_RELATED_OBJECTS):
        raise ApduError(f"DELETE P2 {apdu.p2:02X} not supported", 3, SW_INCORRECT_P1_P2)
    return _single_field(apdu.data, TAG_AID, DATA_OFFSET), apdu.p2 == DELETE_RELATED_OBJECTS
