"""Typed errors raised by every layer of m2mrsp.

Each error class maps to one kind of failure a user or an entity can act on. Errors about a
byte string carry ``offset``: the position, in the buffer that was handed to the failing call, of
the first byte of the field found to be bad. The pure-Python and native back-ends report the
same class, the same ``kind`` and the same ``offset`` for the same input.
"""

from __future__ import annotations

import enum


class M2mRspError(Exception):
    """Base class of every error m2mrsp raises on purpose."""


class TlvErrorKind(enum.IntEnum):
    """Why a BER-TLV buffer was rejected. The values are shared with the C code."""

    TRUNCATED_TAG = 1
    TAG_TOO_LONG = 2
    TRUNCATED_LENGTH = 3
    INDEFINITE_LENGTH = 4
    LENGTH_TOO_LONG = 5
    NON_MINIMAL_LENGTH = 6
    VALUE_PAST_END = 7
    TOO_DEEP = 8
    TRAILING_BYTES = 9
    UNEXPECTED_TAG = 10


class TlvError(M2mRspError, ValueError):
    """A malformed BER-TLV (or DGI) encoding, with the offset of the bad field."""

    def __init__(self, kind: TlvErrorKind, offset: int, detail: str = "") -> None:
        self.kind = TlvErrorKind(kind)
        self.offset = offset
        self.detail = detail
        text = f"malformed TLV at offset {offset}: {self.kind.name.lower().replace('_', ' ')}"
        super().__init__(f"{text} ({detail})" if detail else text)


class ScpErrorKind(enum.IntEnum):
    """Why an SCP03/SCP03t message was rejected. The values are shared with the C code."""

    MALFORMED_TLV = 1
    WRONG_TAG = 2
    BAD_LENGTH = 3
    SEGMENT_TOO_LARGE = 4
    MAC_MISMATCH = 5
    BAD_PADDING = 6
    BAD_STATE = 7
    CRYPTOGRAM_MISMATCH = 8
    SECURITY_LEVEL = 9
    CARD_ERROR = 10


class ScpError(M2mRspError):
    """An SCP03t segment or response that failed its checks.

    Attributes:
        kind: what failed.
        segment: index of the failing TLV within the batch handed to the call (0 for one TLV).
        offset: byte offset in that batch of the first byte of the failing TLV's bad field.
        partial: for batch unwraps, what the segments before the failing one produced
            (a back-end specific result object), else ``None``.
    """

    def __init__(
        self,
        kind: ScpErrorKind,
        segment: int = 0,
        offset: int = 0,
        detail: str = "",
        partial: object | None = None,
    ) -> None:
        self.kind = ScpErrorKind(kind)
        self.segment = segment
        self.offset = offset
        self.detail = detail
        self.partial = partial
        text = f"SCP03t {self.kind.name.lower().replace('_', ' ')} in segment {segment} " \
               f"at offset {offset}"
        super().__init__(f"{text}: {detail}" if detail else text)


class CertificateError(M2mRspError):
    """A GP Amd E certificate that is malformed, of the wrong type, or whose signature fails."""


class KeyEstablishmentError(M2mRspError):
    """Scenario #3 key establishment failed (bad signature, invalid point, receipt mismatch)."""


class ProfileError(M2mRspError):
    """The profile package broke an ordering or content rule of the interoperable format.

    Attributes:
        status: the EUICCResponse PEStatus value (PROTOCOL.md §6.4) that reports it.
        identification: the PE identification concerned, when known.
        offset: byte offset of the PE in the package, when known.
    """

    def __init__(
        self,
        message: str,
        status: int,
        identification: int | None = None,
        offset: int | None = None,
    ) -> None:
        self.status = status
        self.identification = identification
        self.offset = offset
        where = f" (PE at offset {offset})" if offset is not None else ""
        super().__init__(f"{message}{where}")


class CardError(M2mRspError):
    """The eUICC answered a command with an error status word."""

    def __init__(self, sw: int, message: str = "") -> None:
        self.sw = sw
        super().__init__(f"card returned status {sw:04X}" + (f": {message}" if message else ""))


class Es3Error(M2mRspError):
    """An ES3 function ended with a status other than Executed-Success."""


class ProvisioningError(M2mRspError):
    """A provisioning phase failed; the message names the phase and the cause."""


class ProfileRefusedError(ProvisioningError):
    """The eUICC's EUICCResponse reported a failed installation.

    Attributes:
        response: the decoded ``EUICCResponse`` (``m2mrsp.saip.response``), as the SM-DP would
            forward it to the operator.
    """

    def __init__(self, message: str, response: object) -> None:
        self.response = response
        super().__init__(message)


class NativeUnavailableError(M2mRspError):
    """The native back-end was asked for but is not built or cannot be loaded."""
