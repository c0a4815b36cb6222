"""The contract both hot-path back-ends implement, byte for byte.

A back-end is a module exposing ``NAME``, ``SegmentCipher`` and ``scan_tlv`` with the
signatures of :class:`Backend`. ``m2mrsp.backend`` chooses one; tests feed both the same input
and require identical bytes, or the same error class, kind, segment and offset.

SCP03t rules (SGP.02 §4.1.3.3 as digested in PROTOCOL.md §5.6-5.8):

* wrap: ``counter += 1``; ``ICV = AES-ECB(S-ENC, counter as 16 bytes)``;
  ``C = AES-CBC(S-ENC, ICV, data ‖ 80 00..)``; ``L = BER-length(len(C) + 8)``;
  ``full = AES-CMAC(S-MAC, MCV ‖ tag ‖ L ‖ C)``; TLV = ``tag ‖ L ‖ C ‖ full[:8]``;
  ``MCV = full``. Wrapping more than ``MAX_SEGMENT_PLAINTEXT`` bytes in one segment is
  ``SEGMENT_TOO_LARGE``, a segment size below 1 ``BAD_LENGTH`` (segment 0, offset 0); wrapping
  no data at all with ``wrap_all`` gives no segment.
* unwrap (card side), per TLV at offset ``o`` of the batch, checks in this order and reports:
  malformed header -> ``MALFORMED_TLV`` at the TLV error's offset; tag not the expected one ->
  ``WRONG_TAG`` at ``o``; TLV longer than ``MAX_SEGMENT_TLV`` -> ``SEGMENT_TOO_LARGE`` at ``o``;
  value shorter than 24 bytes or ``len(C)`` not a multiple of 16 -> ``BAD_LENGTH`` at the first
  length octet; MAC differs -> ``MAC_MISMATCH`` at the first MAC byte; padding not
  ``80 00..`` -> ``BAD_PADDING`` at the first ciphertext byte. The MAC is checked before
  anything is decrypted, and the state only moves on success.
* responses (PROTOCOL.md §5.8, a [D] transposition): with the state *of the command answered*
  (its full C-MAC as ``mcv``, its ``counter``): ``R-ICV = AES-ECB(S-ENC, 80 ‖ counter[1:16])``,
  ``R = AES-CBC(S-ENC, R-ICV, data ‖ 80 00..)`` (absent when ``data`` is empty),
  ``R-MAC = AES-CMAC(S-RMAC, mcv ‖ tag ‖ BER-length(len(R) + 8) ‖ R)[:8]``.
  Response unwrap errors use the same kinds and offsets as command unwrap (minimum value
  length 8, ciphertext a multiple of 16, possibly empty).

BER-TLV scan: ``scan_tlv`` walks a whole buffer (a profile package: TLVs back to back) and
descends into every constructed TLV, with the rules and error offsets of :mod:`m2mrsp.tlv`.
It returns a numpy array of ``TLV_TABLE_DTYPE`` rows in pre-order (a parent before its
children), ``parent`` being the row index of the enclosing TLV or -1, ``depth`` 0 at top level.
A TLV at depth ``max_depth`` is ``TOO_DEEP`` (offset of its tag).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from m2mrsp.errors import ScpError, ScpErrorKind

SEGMENT_TAG = 0x86
MAC_LENGTH = 8
BLOCK = 16
MAX_SEGMENT_TLV = 1020
# 1008 bytes of cipher text + 8 of MAC + tag + "82 xx xx" = 1020; the mandatory padding turns
# 1007 plaintext bytes into 1008. PROTOCOL.md §2.6 (SGP.22 limit, [D] for SGP.02).
MAX_SEGMENT_PLAINTEXT = 1007

TLV_TABLE_DTYPE = np.dtype(
    [
        ("tag", "<u4"),
        ("header_offset", "<u4"),
        ("value_offset", "<u4"),
        ("length", "<u4"),
        ("depth", "<u4"),
        ("parent", "<i4"),
    ]
)

TlvTable = npt.NDArray[np.void]


def check_plaintext_length(length: int) -> None:
    """Raise ``SEGMENT_TOO_LARGE`` (segment 0, offset 0) for more than one segment's data."""
    if length > MAX_SEGMENT_PLAINTEXT:
        raise ScpError(
            ScpErrorKind.SEGMENT_TOO_LARGE, 0, 0, f"{length} > {MAX_SEGMENT_PLAINTEXT}"
        )


def check_segment_size(segment_size: int) -> None:
    """Raise ``BAD_LENGTH`` below 1 and ``SEGMENT_TOO_LARGE`` above the largest segment."""
    if segment_size < 1:
        raise ScpError(ScpErrorKind.BAD_LENGTH, 0, 0, f"segment size {segment_size}")
    check_plaintext_length(segment_size)


@dataclass(frozen=True, slots=True)
class Scp03tState:
    """The moving part of an SCP03t session, owned by the caller.

    Attributes:
        mcv: the 16-byte MAC chaining value (the full C-MAC of the last protected command).
        counter: the encryption counter of the last protected command (0 after EXTERNAL
            AUTHENTICATE, so the first ``86`` uses 1).
    """

    mcv: bytes
    counter: int


@dataclass(frozen=True, slots=True)
class WrapResult:
    """A byte string wrapped into consecutive segments.

    ``mcvs[i]`` is the full C-MAC of ``tlvs[i]``: with counter ``first + i`` it is the state
    needed to check the response to that segment.
    """

    tlvs: list[bytes]
    mcvs: list[bytes]
    state: Scp03tState


@dataclass(frozen=True, slots=True)
class UnwrapResult:
    """Consecutive segments unwrapped on the card side (``mcvs`` as in :class:`WrapResult`)."""

    plaintexts: list[bytes]
    mcvs: list[bytes]
    state: Scp03tState


class SegmentCipher(Protocol):
    """SCP03t protection under one set of session keys (S-ENC, S-MAC, S-RMAC)."""

    def __init__(self, s_enc: bytes, s_mac: bytes, s_rmac: bytes) -> None: ...

    def wrap_segment(
        self, state: Scp03tState, data: bytes, tag: int = SEGMENT_TAG
    ) -> tuple[bytes, Scp03tState]: ...

    def wrap_all(
        self, state: Scp03tState, data: bytes, segment_size: int, tag: int = SEGMENT_TAG
    ) -> WrapResult: ...

    def unwrap_segment(
        self, state: Scp03tState, tlv: bytes, tag: int = SEGMENT_TAG
    ) -> tuple[bytes, Scp03tState]: ...

    def unwrap_all(
        self, state: Scp03tState, tlvs: bytes, tag: int = SEGMENT_TAG
    ) -> UnwrapResult: ...

    def wrap_response(self, state: Scp03tState, data: bytes, tag: int = SEGMENT_TAG) -> bytes: ...

    def unwrap_response(
        self, state: Scp03tState, tlv: bytes, tag: int = SEGMENT_TAG
    ) -> bytes: ...


class Backend(Protocol):
    """What ``m2mrsp.backend.get(name)`` returns."""

    NAME: str

    @property
    def SegmentCipher(self) -> type[SegmentCipher]: ...  # noqa: N802 - the class itself

    def scan_tlv(self, buf: bytes, max_depth: int = ...) -> TlvTable: ...
