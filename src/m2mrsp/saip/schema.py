"""Table-driven DER decoding of SAIP PE bodies over a ``scan_tlv`` table.

``scan_tlv`` (the pure or native back-end) has already walked every TLV of a PE and checked its
BER structure. :class:`TlvTree` indexes that table by parent; the kinds below then check every
node against the PEDefinitions v3.3.1 types (PROTOCOL.md §8, the shared ASN.1 module): members
in definition order with their exact tags, mandatory members present, nothing unexpected, sizes
and INTEGER ranges. The tags are those AUTOMATIC TAGS gives, and the explicit ones where a
type carries its own (``Fcp``, ``KeyObject``, ``ApplicationInstance``, ``PE-RFM`` ...).

Errors are :class:`~m2mrsp.errors.ProfileError` with status invalid-request-format (5) for a
structure problem (missing, unexpected or misplaced member) and bad-values (3) for a value
problem (size, range, encoding). Their message gives the offset of the node in the package; the
interpreter adds the PE identification and the PE offset.

Known shortcoming: extension additions (members a later PEDefinitions version appends) are
rejected as unexpected members rather than skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from m2mrsp.errors import ProfileError
from m2mrsp.hotpath.types import TlvTable
from m2mrsp.saip.pe import (
    MAX_UINT8,
    MAX_UINT15,
    MAX_UINT16,
    Status,
    context_number,
    context_tag,
    decode_int,
    decode_oid,
    decode_uint,
)


class TlvTree:
    """A scanned buffer with each row's children, so kinds can walk it by structure."""

    def __init__(self, buf: bytes, table: TlvTable, base: int = 0) -> None:
        """Index ``table``, the ``scan_tlv`` result for ``buf``; ``base``: buf's package offset."""
        self.buf = buf
        self.base = base
        self.table = table
        self.tags: list[int] = table["tag"].tolist()
        self.starts: list[int] = table["header_offset"].tolist()
        self.value_starts: list[int] = table["value_offset"].tolist()
        self.lengths: list[int] = table["length"].tolist()
        self.kids: list[list[int]] = [[] for _ in self.tags]
        self.top: list[int] = []
        for row, parent in enumerate(table["parent"].tolist()):
            (self.kids[parent] if parent >= 0 else self.top).append(row)

    def value(self, row: int) -> bytes:
        start = self.value_starts[row]
        return self.buf[start : start + self.lengths[row]]

    def where(self, row: int) -> int:
        """Package offset of the row's tag."""
        return self.base + self.starts[row]

    def fail(self, row: int, status: int, message: str) -> ProfileError:
        return ProfileError(f"{message} at offset {self.where(row)}", status)


class Kind(Protocol):
    """A decoder for one ASN.1 type, applied to the row holding a value of that type."""

    def decode(self, tree: TlvTree, row: int) -> Any: ...


_CONSTRUCTED = 0x20
_NOT_PRIMITIVE = "constructed where primitive expected"


def _primitive(tree: TlvTree, row: int) -> bytes:
    # A row with children is constructed, so the tag's constructed bit is the whole check.
    if tree.buf[tree.starts[row]] & _CONSTRUCTED:
        raise tree.fail(row, Status.INVALID_REQUEST_FORMAT, _NOT_PRIMITIVE)
    return tree.value(row)


def _located(tree: TlvTree, row: int, err: ProfileError) -> ProfileError:
    """The same error, its message naming the node's package offset."""
    return tree.fail(row, err.status, str(err))


@dataclass(frozen=True)
class Null:
    """NULL: an empty primitive value; decodes to ``None``."""

    def decode(self, tree: TlvTree, row: int) -> None:
        if _primitive(tree, row):
            raise tree.fail(row, Status.BAD_VALUES, "NULL with content")


@dataclass(frozen=True)
class Octets:
    """OCTET STRING with an optional SIZE range."""

    minimum: int = 0
    maximum: int | None = None

    def decode(self, tree: TlvTree, row: int) -> bytes:
        # The hottest decoder (every file content and key): _primitive and value() inlined.
        if tree.buf[tree.starts[row]] & _CONSTRUCTED:
            raise tree.fail(row, Status.INVALID_REQUEST_FORMAT, _NOT_PRIMITIVE)
        length = tree.lengths[row]
        if length < self.minimum or (self.maximum is not None and length > self.maximum):
            top = "MAX" if self.maximum is None else self.maximum
            raise tree.fail(
                row, Status.BAD_VALUES, f"{length} bytes outside SIZE({self.minimum}..{top})"
            )
        start = tree.value_starts[row]
        return tree.buf[start : start + length]


@dataclass(frozen=True)
class Size:
    """An OCTET STRING holding a big-endian size "on the minimum number of octets" (Fcp)."""

    def decode(self, tree: TlvTree, row: int) -> int:
        value = _primitive(tree, row)
        if not value or (len(value) > 1 and value[0] == 0):
            raise tree.fail(row, Status.BAD_VALUES, "size not on the minimum number of octets")
        return int.from_bytes(value, "big")


@dataclass(frozen=True)
class UInt:
    """INTEGER (0..maximum)."""

    maximum: int

    def decode(self, tree: TlvTree, row: int) -> int:
        try:
            return decode_uint(_primitive(tree, row), self.maximum)
        except ProfileError as err:
            raise _located(tree, row, err) from None


@dataclass(frozen=True)
class Int:
    """INTEGER without a range (PEStatus status)."""

    def decode(self, tree: TlvTree, row: int) -> int:
        try:
            return decode_int(_primitive(tree, row))
        except ProfileError as err:
            raise _located(tree, row, err) from None


@dataclass(frozen=True)
class Oid:
    """OBJECT IDENTIFIER, decoded to dotted text."""

    def decode(self, tree: TlvTree, row: int) -> str:
        try:
            return decode_oid(_primitive(tree, row))
        except ProfileError as err:
            raise _located(tree, row, err) from None


@dataclass(frozen=True)
class Utf8:
    """UTF8String with a SIZE range in bytes (characters equal bytes for ASCII)."""

    minimum: int = 0
    maximum: int | None = None

    def decode(self, tree: TlvTree, row: int) -> str:
        raw = Octets(self.minimum, self.maximum).decode(tree, row)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise tree.fail(row, Status.BAD_VALUES, "invalid UTF-8") from None


@dataclass(frozen=True)
class Field:
    """One SEQUENCE member or CHOICE alternative: its tag, name and type."""

    tag: int
    name: str
    kind: Kind
    optional: bool = False


@dataclass(frozen=True)
class Seq:
    """SEQUENCE: members in definition order; decodes to ``{name: value}`` of those present."""

    fields: tuple[Field, ...]

    def decode(self, tree: TlvTree, row: int) -> dict[str, Any]:
        children = tree.kids[row]
        tags = tree.tags
        count = len(children)
        out: dict[str, Any] = {}
        pos = 0
        for field in self.fields:
            if pos < count and tags[children[pos]] == field.tag:
                out[field.name] = field.kind.decode(tree, children[pos])
                pos += 1
            elif not field.optional:
                raise tree.fail(row, Status.INVALID_REQUEST_FORMAT, f"{field.name} missing")
        if pos < count:
            extra = children[pos]
            raise tree.fail(
                extra, Status.INVALID_REQUEST_FORMAT, f"unexpected member {tree.tags[extra]:X}"
            )
        return out


@dataclass(frozen=True)
class SeqWithRaw(Seq):
    """A SEQUENCE whose decoded dict also keeps its DER content under ``"raw"``."""

    def decode(self, tree: TlvTree, row: int) -> dict[str, Any]:
        out = Seq.decode(self, tree, row)
        out["raw"] = tree.value(row)
        return out


def _count_check(tree: TlvTree, row: int, count: int, minimum: int, maximum: int | None) -> None:
    if count < minimum or (maximum is not None and count > maximum):
        top = "MAX" if maximum is None else maximum
        raise tree.fail(row, Status.BAD_VALUES, f"{count} items outside SIZE({minimum}..{top})")


@dataclass(frozen=True)
class SeqOf:
    """SEQUENCE OF one type whose tag is ``item_tag``; decodes to a list."""

    item_tag: int
    kind: Kind
    minimum: int = 0
    maximum: int | None = None

    def decode(self, tree: TlvTree, row: int) -> list[Any]:
        children = tree.kids[row]
        _count_check(tree, row, len(children), self.minimum, self.maximum)
        for child in children:
            if tree.tags[child] != self.item_tag:
                raise tree.fail(
                    child, Status.INVALID_REQUEST_FORMAT, f"unexpected item {tree.tags[child]:X}"
                )
        return [self.kind.decode(tree, child) for child in children]


def _alternative(tree: TlvTree, row: int, fields: tuple[Field, ...]) -> tuple[str, Any]:
    tag = tree.tags[row]
    for field in fields:
        if field.tag == tag:
            return field.name, field.kind.decode(tree, row)
    raise tree.fail(row, Status.INVALID_REQUEST_FORMAT, f"unexpected choice {tag:X}")


@dataclass(frozen=True)
class Choice:
    """A CHOICE member under AUTOMATIC TAGS: an explicit wrapper around one alternative."""

    alternatives: tuple[Field, ...]

    def decode(self, tree: TlvTree, row: int) -> tuple[str, Any]:
        children = tree.kids[row]
        if len(children) != 1:
            raise tree.fail(row, Status.INVALID_REQUEST_FORMAT, "CHOICE must hold one value")
        return _alternative(tree, children[0], self.alternatives)


@dataclass(frozen=True)
class SeqOfChoice:
    """SEQUENCE OF CHOICE (``File``, ``FileManagement``); decodes to ``[(name, value)]``."""

    alternatives: tuple[Field, ...]
    minimum: int = 0

    def decode(self, tree: TlvTree, row: int) -> list[tuple[str, Any]]:
        children = tree.kids[row]
        _count_check(tree, row, len(children), self.minimum, None)
        return [_alternative(tree, child, self.alternatives) for child in children]


@dataclass(frozen=True)
class Flags:
    """A SEQUENCE of optional NULLs (``ServicesList``): decodes to the member numbers present.

    Member numbers this module does not name are kept, so an unknown mandatory service can be
    refused as unsupported rather than as malformed.
    """

    def decode(self, tree: TlvTree, row: int) -> tuple[int, ...]:
        numbers: list[int] = []
        for child in tree.kids[row]:
            number = context_number(tree.tags[child])
            if number is None or tree.tags[child] != context_tag(number, constructed=False):
                raise tree.fail(child, Status.INVALID_REQUEST_FORMAT, "not a context NULL")
            if numbers and number <= numbers[-1]:
                raise tree.fail(child, Status.INVALID_REQUEST_FORMAT, "members out of order")
            Null().decode(tree, child)
            numbers.append(number)
        return tuple(numbers)


@dataclass(frozen=True)
class TemplateBody:
    """A file-system template PE (``PE-MF``, ``PE-USIM`` ...): header, templateID, Files.

    Members ``[2]..[last]`` are ``File`` values, optional except ``mandatory``. Decodes to
    ``{"header", "templateID", "files": [(member number, [(name, value)])]}``.
    """

    last: int
    mandatory: frozenset[int]

    def decode(self, tree: TlvTree, row: int) -> dict[str, Any]:
        children = tree.kids[row]
        if len(children) < 2 or tree.tags[children[0]] != 0xA0 or tree.tags[children[1]] != 0x81:
            raise tree.fail(row, Status.INVALID_REQUEST_FORMAT, "header or templateID missing")
        out: dict[str, Any] = {
            "header": PE_HEADER.decode(tree, children[0]),
            "templateID": Oid().decode(tree, children[1]),
        }
        files: list[tuple[int, list[tuple[str, Any]]]] = []
        previous = 1
        for child in children[2:]:
            number = context_number(tree.tags[child])
            if number is None or tree.tags[child] != context_tag(number) or number > self.last:
                raise tree.fail(child, Status.INVALID_REQUEST_FORMAT, "unexpected template member")
            if number <= previous:
                raise tree.fail(child, Status.INVALID_REQUEST_FORMAT, "members out of order")
            files.append((number, FILE.decode(tree, child)))
            previous = number
        missing = self.mandatory - {number for number, _ in files}
        if missing:
            raise tree.fail(row, Status.INVALID_REQUEST_FORMAT, f"members {sorted(missing)} absent")
        out["files"] = files
        return out


PE_HEADER = Seq(
    (
        Field(0x80, "mandated", Null(), optional=True),
        Field(0x81, "identification", UInt(MAX_UINT15)),
    )
)

PROPRIETARY_INFO = Seq(
    (
        Field(0xC0, "specialFileInformation", Octets(1, 1), optional=True),
        Field(0xC1, "fillPattern", Octets(1, 200), optional=True),
        Field(0xC2, "repeatPattern", Octets(1, 200), optional=True),
        Field(0x86, "maximumFileSize", Size(), optional=True),
        Field(0x84, "fileDetails", Octets(1, 1), optional=True),
    )
)

FCP = SeqWithRaw(
    (
        Field(0x82, "fileDescriptor", Octets(2, 4), optional=True),
        Field(0x83, "fileID", Octets(2, 2), optional=True),
        Field(0x84, "dfName", Octets(5, 16), optional=True),
        Field(0x8A, "lcsi", Octets(1, 1), optional=True),
        Field(0x8B, "securityAttributesReferenced", Octets(1, 3), optional=True),
        Field(0x80, "efFileSize", Size(), optional=True),
        Field(0xC6, "pinStatusTemplateDO", Octets(), optional=True),
        Field(0x88, "shortEFID", Octets(0, 1), optional=True),
        Field(0xA5, "proprietaryEFInfo", PROPRIETARY_INFO, optional=True),
        Field(0xC7, "linkPath", Octets(0, 8), optional=True),
    )
)

FILE = SeqOfChoice(
    (
        Field(0x80, "doNotCreate", Null()),
        Field(0xA1, "fileDescriptor", FCP),
        Field(0x82, "fillFileOffset", UInt(MAX_UINT16)),
        Field(0x83, "fillFileContent", Octets()),
    )
)

FILE_MANAGEMENT = SeqOfChoice(
    (
        Field(0x80, "filePath", Octets(0, 8)),
        Field(0x62, "createFCP", FCP),
        Field(0x02, "fillFileOffset", UInt(MAX_UINT16)),
        Field(0x81, "fillFileContent", Octets()),
    ),
    minimum=1,
)

_AID = Octets(5, 16)

PROFILE_HEADER = Seq(
    (
        Field(0x80, "major-version", UInt(MAX_UINT8)),
        Field(0x81, "minor-version", UInt(MAX_UINT8)),
        Field(0x82, "profileType", Utf8(1, 100), optional=True),
        Field(0x83, "iccid", Octets(10, 10)),
        Field(0x84, "pol", Octets(), optional=True),
        Field(0xA5, "eUICC-Mandatory-services", Flags()),
        Field(0xA6, "eUICC-Mandatory-GFSTEList", SeqOf(0x06, Oid())),
        Field(0x87, "connectivityParameters", Octets(), optional=True),
        Field(
            0xA8,
            "eUICC-Mandatory-AIDs",
            SeqOf(0x30, Seq((Field(0x80, "aid", _AID), Field(0x81, "version", Octets(2, 2))))),
            optional=True,
        ),
        Field(0xA9, "iotOptions", Seq((Field(0x80, "pix", Octets(7, 11)),)), optional=True),
    )
)

GENERIC_FILE_MANAGEMENT = Seq(
    (
        Field(0xA0, "header", PE_HEADER),
        Field(0xA1, "fileManagementCMD", SeqOf(0x30, FILE_MANAGEMENT, minimum=1)),
    )
)

PIN_CONFIGURATION = Seq(
    (
        Field(0x80, "keyReference", UInt(MAX_UINT8)),
        Field(0x81, "pinValue", Octets(8, 8)),
        Field(0x82, "unblockingPINReference", UInt(MAX_UINT8), optional=True),
        Field(0x83, "pinAttributes", UInt(MAX_UINT8), optional=True),
        Field(0x84, "maxNumOfAttemps-retryNumLeft", UInt(MAX_UINT8), optional=True),
    )
)

PIN_CODES = Seq(
    (
        Field(0xA0, "header", PE_HEADER),
        Field(
            0xA1,
            "pinCodes",
            Choice(
                (
                    Field(0xA0, "pinconfig", SeqOf(0x30, PIN_CONFIGURATION, 1, 26)),
                    Field(0x81, "filePath", Octets(0, 8)),
                )
            ),
        ),
    )
)

PUK_CODES = Seq(
    (
        Field(0xA0, "header", PE_HEADER),
        Field(
            0xA1,
            "pukCodes",
            SeqOf(
                0x30,
                Seq(
                    (
                        Field(0x80, "keyReference", UInt(MAX_UINT8)),
                        Field(0x81, "pukValue", Octets(8, 8)),
                        Field(0x82, "maxNumOfAttemps-retryNumLeft", UInt(MAX_UINT8), True),
                    )
                ),
                1,
                16,
            ),
        ),
    )
)

ALGO_PARAMETER = Seq(
    (
        Field(0x80, "algorithmID", UInt(MAX_UINT8)),
        Field(0x81, "algorithmOptions", Octets(1, 1)),
        Field(0x82, "key", Octets()),
        Field(0x83, "opc", Octets()),
        Field(0x84, "rotationConstants", Octets(5, 5), optional=True),
        Field(0x85, "xoringConstants", Octets(80, 80), optional=True),
        Field(0x86, "authCounterMax", Octets(3, 3), optional=True),
        Field(0x87, "numberOfKeccak", UInt(MAX_UINT8), optional=True),
    )
)

AKA_PARAMETER = Seq(
    (
        Field(0xA0, "header", PE_HEADER),
        Field(
            0xA1,
            "algoConfiguration",
            Choice(
                (
                    Field(
                        0xA0,
                        "mappingParameter",
                        Seq(
                            (
                                Field(0x80, "mappingOptions", Octets(1, 1)),
                                Field(0x81, "mappingSource", _AID),
                            )
                        ),
                    ),
                    Field(0xA1, "algoParameter", ALGO_PARAMETER),
                )
            ),
        ),
        Field(0x82, "sqnOptions", Octets(1, 1), optional=True),
        Field(0x83, "sqnDelta", Octets(6, 6), optional=True),
        Field(0x84, "sqnAgeLimit", Octets(6, 6), optional=True),
        Field(0xA5, "sqnInit", SeqOf(0x04, Octets(6, 6), 32, 32), optional=True),
    )
)

CDMA_PARAMETER = Seq(
    (
        Field(0xA0, "header", PE_HEADER),
        Field(0x81, "authenticationKey", Octets(8, 8)),
        Field(0x82, "ssd", Octets(16, 16), optional=True),
        Field(0x83, "hrpdAccessAuthenticationData", Octets(2, 32), optional=True),
        Field(0x84, "simpleIPAuthenticationData", Octets(3, 483), optional=True),
        Field(0x85, "mobileIPAuthenticationData", Octets(5, 957), optional=True),
    )
)

_SIZE_2_4 = Octets(2, 4)

APPLICATION_SYSTEM_PARAMETERS = Seq(
    (
        Field(0xC7, "volatileMemoryQuotaC7", _SIZE_2_4, optional=True),
        Field(0xC8, "nonVolatileMemoryQuotaC8", _SIZE_2_4, optional=True),
        Field(0xCB, "globalServiceParameters", Octets(), optional=True),
        Field(0xCF, "implicitSelectionParameter", Octets(), optional=True),
        Field(0xD7, "volatileReservedMemory", _SIZE_2_4, optional=True),
        Field(0xD8, "nonVolatileReservedMemory", _SIZE_2_4, optional=True),
        Field(0xCA, "ts102226SIMFileAccessToolkitParameter", Octets(), optional=True),
        Field(
            0xA0,
            "ts102226AdditionalContactlessParameters",
            Seq((Field(0x80, "protocolParameterData", Octets()),)),
            optional=True,
        ),
        Field(0xDF19, "contactlessProtocolParameters", Octets(), optional=True),
        Field(0xDF1A, "userInteractionContactlessParameters", Octets(), optional=True),
        Field(0x82, "cumulativeGrantedVolatileMemory", _SIZE_2_4, optional=True),
        Field(0x83, "cumulativeGrantedNonVolatileMemory", _SIZE_2_4, optional=True),
    )
)

APPLICATION_INSTANCE = Seq(
    (
        Field(0x4F, "applicationLoadPackageAID", _AID),
        Field(0x4F, "classAID", _AID),
        Field(0x4F, "instanceAID", _AID),
        Field(0x4F, "extraditeSecurityDomainAID", _AID, optional=True),
        Field(0x82, "applicationPrivileges", Octets()),
        Field(0x83, "lifeCycleState", Octets(1, 1), optional=True),
        Field(0xC9, "applicationSpecificParametersC9", Octets()),
        Field(0xEF, "systemSpecificParameters", APPLICATION_SYSTEM_PARAMETERS, optional=True),
        Field(
            0xEA,
            "applicationParameters",
            Seq(
                (
                    Field(0x80, "uiccToolkitApplicationSpecificParametersField", Octets(), True),
                    Field(0x81, "uiccAccessApplicationSpecificParametersField", Octets(), True),
                    Field(0x82, "uiccAdministrativeAccessApplicationSpecificParametersField",
                          Octets(), True),
                )
            ),
            optional=True,
        ),
        Field(0x30, "processData", SeqOf(0x04, Octets(), minimum=1), optional=True),
        Field(
            0xB0,
            "controlReferenceTemplate",
            Seq((Field(0x5F20, "applicationProviderIdentifier", Octets()),)),
            optional=True,
        ),
    )
)

KEY_OBJECT = Seq(
    (
        Field(0x95, "keyUsageQualifier", Octets(1, 2)),
        Field(0x96, "keyAccess", Octets(1, 1), optional=True),
        Field(0x82, "keyIdentifier", Octets(1, 1)),
        Field(0x83, "keyVersionNumber", Octets(1, 1)),
        Field(0x85, "keyCounterValue", Octets(), optional=True),
        Field(
            0x30,
            "keyComponents",
            SeqOf(
                0x30,
                Seq(
                    (
                        Field(0x80, "keyType", Octets(1)),
                        Field(0x86, "keyData", Octets()),
                        Field(0x87, "macLength", UInt(MAX_UINT8), optional=True),
                    )
                ),
                minimum=1,
            ),
        ),
    )
)

SECURITY_DOMAIN = Seq(
    (
        Field(0xA0, "header", PE_HEADER),
        Field(0xA1, "instance", APPLICATION_INSTANCE),
        Field(0xA2, "keyList", SeqOf(0x30, KEY_OBJECT, minimum=1), optional=True),
        Field(0xA3, "sdPersoData", SeqOf(0x04, Octets(), minimum=1), optional=True),
        Field(
            0xA4,
            "openPersoData",
            Seq(
                (
                    Field(0xDF19, "restrictParameter", Octets(1, 1), optional=True),
                    Field(0x04, "contactlessProtocolParameters", Octets(), optional=True),
                )
            ),
            optional=True,
        ),
        Field(
            0xA5,
            "catTpParameters",
            Seq(
                (
                    Field(0x80, "catTpMaxSduSize", UInt(MAX_UINT16)),
                    Field(0x81, "catTpMaxPduSize", UInt(MAX_UINT16)),
                )
            ),
            optional=True,
        ),
    )
)

APPLICATION = Seq(
    (
        Field(0xA0, "header", PE_HEADER),
        Field(
            0xA1,
            "loadBlock",
            Seq(
                (
                    Field(0x4F, "loadPackageAID", _AID),
                    Field(0x4F, "securityDomainAID", _AID, optional=True),
                    Field(0xC6, "nonVolatileCodeLimitC6", Octets(), optional=True),
                    Field(0xC7, "volatileDataLimitC7", Octets(), optional=True),
                    Field(0xC8, "nonVolatileDataLimitC8", Octets(), optional=True),
                    Field(0xC1, "hashValue", Octets(), optional=True),
                    Field(0xC4, "loadBlockObject", Octets()),
                )
            ),
            optional=True,
        ),
        Field(0xA2, "instanceList", SeqOf(0x30, APPLICATION_INSTANCE, minimum=1), optional=True),
    )
)

RFM = Seq(
    (
        Field(0xA0, "header", PE_HEADER),
        Field(0x4F, "instanceAID", _AID),
        Field(0x4F, "securityDomainAID", _AID, optional=True),
        Field(0xA0, "tarList", SeqOf(0x04, Octets(3, 3), minimum=1), optional=True),
        Field(0x81, "minimumSecurityLevel", Octets(1, 1)),
        Field(0x04, "uiccAccessDomain", Octets()),
        Field(0x04, "uiccAdminAccessDomain", Octets()),
        Field(
            0x30,
            "adfRFMAccess",
            Seq(
                (
                    Field(0x80, "adfAID", _AID),
                    Field(0x81, "adfAccessDomain", Octets()),
                    Field(0x82, "adfAdminAccessDomain", Octets()),
                )
            ),
            optional=True,
        ),
    )
)

NON_STANDARD = Seq(
    (
        Field(0xA0, "header", PE_HEADER),
        Field(0x81, "issuerID", Oid()),
        Field(0x82, "content", Octets()),
    )
)

END = Seq((Field(0xA0, "header", PE_HEADER),))
