"""Pure-Python twin of the native BER-TLV scanner (contract in :mod:`m2mrsp.hotpath.types`)."""

from __future__ import annotations

import numpy as np

from m2mrsp.errors import TlvError, TlvErrorKind
from m2mrsp.hotpath.types import TLV_TABLE_DTYPE, TlvTable
from m2mrsp.tlv import DEFAULT_MAX_DEPTH, read_header


def scan_tlv(buf: bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> TlvTable:
    """Walk every TLV of ``buf`` (top level back to back, constructed ones descended into).

    Returns:
        one ``TLV_TABLE_DTYPE`` row per TLV, in pre-order.

    Raises:
        TlvError: the first malformed field met, with its offset.
    """
    rows: list[tuple[int, int, int, int, int, int]] = []
    # Each open constructed TLV: (end of its value, its row index).
    open_tlvs: list[tuple[int, int]] = []
    limit = len(buf)
    parent = -1
    pos = 0
    while True:
        while pos == limit:
            if not open_tlvs:
                return np.array(rows, dtype=TLV_TABLE_DTYPE)
            open_tlvs.pop()
            limit, parent = open_tlvs[-1] if open_tlvs else (len(buf), -1)
        depth = len(open_tlvs)
        if depth >= max_depth:
            raise TlvError(TlvErrorKind.TOO_DEEP, pos)
        tag, value_offset, length = read_header(buf, pos, limit)
        rows.append((tag, pos, value_offset, length, depth, parent))
        if buf[pos] & 0x20:
            parent = len(rows) - 1
            limit = value_offset + length
            open_tlvs.append((limit, parent))
            pos = value_offset
        else:
            pos = value_offset + length
