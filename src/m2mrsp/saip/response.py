"""EUICCResponse and PEStatus: the ISD-P's answer to a profile package (PROTOCOL.md §6.4).

::

    EUICCResponse ::= SEQUENCE {                               30 L
        peStatus SEQUENCE OF PEStatus,                         A0 L { 30 L ... }*
        profileInstallationAborted NULL OPTIONAL,              81 00
        statusMessage UTF8String (SIZE(2..64)) OPTIONAL }      82 L
    PEStatus ::= SEQUENCE { status INTEGER [80], identification UInt15 OPTIONAL [81],
                            additional-information UInt8 OPTIONAL [82],
                            offset UInt31 OPTIONAL [83] }

Which statuses the card reports is the [D] rule of §6.4, applied by
:class:`m2mrsp.saip.interpreter.ProfileInstaller`: one PEStatus per warning or error, then a
final ``ok`` carrying the identification of ``end``; on abort the error status and
``profileInstallationAborted``.
"""

from __future__ import annotations

from dataclasses import dataclass

from m2mrsp.errors import ProfileError, TlvError
from m2mrsp.hotpath import bertlv_py
from m2mrsp.saip.pe import MAX_UINT8, MAX_UINT15, MAX_UINT31, Status, encode_uint
from m2mrsp.saip.schema import (
    Field,
    Int,
    Null,
    Seq,
    SeqOf,
    TlvTree,
    UInt,
    Utf8,
)
from m2mrsp.tlv import encode_tlv

__all__ = ["EUICCResponse", "PEStatus", "Status"]

TAG_EUICC_RESPONSE = 0x30
TAG_PE_STATUS_LIST = 0xA0
TAG_ABORTED = 0x81
TAG_STATUS_MESSAGE = 0x82
TAG_PE_STATUS = 0x30
TAG_STATUS = 0x80
TAG_IDENTIFICATION = 0x81
TAG_ADDITIONAL_INFORMATION = 0x82
TAG_OFFSET = 0x83
MAX_STATUS = 0xFFFF  # 40960-65535 is the proprietary range, the top of what §6.4 defines


_PE_STATUS_SCHEMA = Seq(
    (
        Field(TAG_STATUS, "status", Int()),
        Field(TAG_IDENTIFICATION, "identification", UInt(MAX_UINT15), optional=True),
        Field(TAG_ADDITIONAL_INFORMATION, "additional", UInt(MAX_UINT8), optional=True),
        Field(TAG_OFFSET, "offset", UInt(MAX_UINT31), optional=True),
    )
)

_RESPONSE_SCHEMA = Seq(
    (
        Field(TAG_PE_STATUS_LIST, "peStatus", SeqOf(TAG_PE_STATUS, _PE_STATUS_SCHEMA)),
        Field(TAG_ABORTED, "aborted", Null(), optional=True),
        Field(TAG_STATUS_MESSAGE, "statusMessage", Utf8(2, 64), optional=True),
    )
)


@dataclass(frozen=True, slots=True)
class PEStatus:
    """One status entry; ``offset`` is the package offset of the PE it concerns."""

    status: int
    identification: int | None = None
    additional_information: int | None = None
    offset: int | None = None

    @property
    def is_error(self) -> bool:
        return self.status != Status.OK

    def encode(self) -> bytes:
        """DER ``30 L 80 status [81 id] [82 info] [83 offset]``."""
        if not 0 <= self.status <= MAX_STATUS:
            raise ValueError(f"PEStatus status {self.status} outside 0..{MAX_STATUS}")
        body = encode_tlv(TAG_STATUS, encode_uint(self.status))
        for tag, value in (
            (TAG_IDENTIFICATION, self.identification),
            (TAG_ADDITIONAL_INFORMATION, self.additional_information),
            (TAG_OFFSET, self.offset),
        ):
            if value is not None:
                body += encode_tlv(tag, encode_uint(value))
        return encode_tlv(TAG_PE_STATUS, body)

    @classmethod
    def decode(cls, data: bytes) -> PEStatus:
        """Parse one DER PEStatus.

        Raises:
            ProfileError: invalid-request-format (5) for malformed or misplaced TLVs, bad-values
                (3) for out-of-range numbers; the message names the offset in ``data``.
        """
        tree = _single(data, TAG_PE_STATUS)
        return _pe_status(_PE_STATUS_SCHEMA.decode(tree, 0), tree)


@dataclass(frozen=True, slots=True)
class EUICCResponse:
    """The whole answer: statuses, the abort flag and an optional status message."""

    statuses: tuple[PEStatus, ...]
    aborted: bool = False
    status_message: str | None = None

    @property
    def succeeded(self) -> bool:
        """True when nothing was aborted and the last status, the ``end`` PE's, is ok (§6.5).

        [D] (the interpreter's rule, §6.4): statuses before the last are warnings about PEs
        the card kept without supporting them; an empty status list is no success.
        """
        return not self.aborted and bool(self.statuses) and not self.statuses[-1].is_error

    def describe(self) -> str:
        """One line for people: each status by name, with its PE and package offset."""
        parts = []
        for status in self.statuses:
            try:
                name = Status(status.status).name.lower().replace("_", "-")
            except ValueError:
                name = "status"
            text = f"{name} ({status.status})"
            if status.identification is not None:
                text += f" for PE {status.identification}"
            if status.offset is not None:
                text += f" at package offset {status.offset}"
            parts.append(text)
        if self.aborted:
            parts.append("installation aborted")
        return "; ".join(parts) or "no status"

    def encode(self) -> bytes:
        """DER ``30 L A0 L {PEStatus}* [81 00] [82 L message]``."""
        body = encode_tlv(TAG_PE_STATUS_LIST, b"".join(s.encode() for s in self.statuses))
        if self.aborted:
            body += encode_tlv(TAG_ABORTED, b"")
        if self.status_message is not None:
            message = self.status_message.encode("utf-8")
            if not 2 <= len(message) <= 64:
                raise ValueError("statusMessage must be 2 to 64 bytes")
            body += encode_tlv(TAG_STATUS_MESSAGE, message)
        return encode_tlv(TAG_EUICC_RESPONSE, body)

    @classmethod
    def decode(cls, data: bytes) -> EUICCResponse:
        """Parse a DER EUICCResponse (errors as :meth:`PEStatus.decode`)."""
        tree = _single(data, TAG_EUICC_RESPONSE)
        fields = _RESPONSE_SCHEMA.decode(tree, 0)
        rows = tree.kids[tree.kids[0][0]]
        items = zip(fields["peStatus"], rows, strict=True)
        statuses = tuple(_pe_status(item, tree, row) for item, row in items)
        return cls(statuses, "aborted" in fields, fields.get("statusMessage"))


def _single(data: bytes, tag: int) -> TlvTree:
    try:
        tree = TlvTree(data, bertlv_py.scan_tlv(data))
    except TlvError as err:
        raise ProfileError(str(err), Status.INVALID_REQUEST_FORMAT) from err
    if tree.top != [0] or tree.tags[0] != tag:
        raise ProfileError(
            f"expected one {tag:02X} TLV at offset 0", Status.INVALID_REQUEST_FORMAT
        )
    return tree


def _pe_status(fields: dict[str, int], tree: TlvTree, row: int = 0) -> PEStatus:
    status = fields["status"]
    if not 0 <= status <= MAX_STATUS:
        raise tree.fail(row, Status.BAD_VALUES, f"status {status} outside 0..{MAX_STATUS}")
    return PEStatus(
        status, fields.get("identification"), fields.get("additional"), fields.get("offset")
    )
