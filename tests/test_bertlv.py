"""The BER-TLV scanner (``scan_tlv``) on every back-end: tables, limits and error offsets."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import numpy as np
import pytest

from m2mrsp.errors import TlvError, TlvErrorKind
from m2mrsp.hotpath.types import TLV_TABLE_DTYPE
from m2mrsp.tlv import DEFAULT_MAX_DEPTH, iter_tlvs

h = bytes.fromhex

# PROTOCOL.md §8.6: the top-level profile elements of TS48V2-SAIP2-3-NOBERTLV-UNIQUE.der
# (offset, first tag byte), read from the walk table there.
NOBERTLV_PES = [
    (0, 0xA0), (160, 0xB0), (923, 0xA3), (965, 0xA2), (1043, 0xB2), (1587, 0xA2), (1623, 0xA1),
    (2417, 0xB3), (3601, 0xB4), (6208, 0xA2), (6244, 0xA4), (6299, 0xB8), (6442, 0xBC),
    (6754, 0xBD), (6816, 0xB9), (8657, 0xBA), (10181, 0xA2), (10217, 0xA5), (10330, 0xB5),
    (10803, 0xB6), (10903, 0xA2), (10939, 0xA4), (10994, 0xA1), (11234, 0xA1), (11667, 0xA6),
    (12028, 0xA7), (12064, 0xA7), (12122, 0xA7), (12180, 0xA7), (12242, 0xAA),
]
# Nodes of a full recursive walk per profile. PERF_ANCHORS.md §2 reports 2,363-2,497 nodes and
# 28-30 top-level PEs for these six files; the per-file figures were counted for this test
# with the recursive walk below (built on m2mrsp.tlv.iter_tlvs, not on the scanner).
TS48_NODES = {
    "TS48V1-A-UNIQUE": 2363,
    "TS48V2-SAIP2-1-BERTLV-UNIQUE": 2493,
    "TS48V2-SAIP2-3-NOBERTLV-UNIQUE": 2497,
    "TS48V3-SAIP2-1-NOBERTLV-UNIQUE": 2377,
    "TS48V4-SAIP2-1A-NOBERTLV-UNIQUE": 2379,
    "TS48V4-SAIP2-3-BERTLV-UNIQUE": 2413,
}


def recursive_walk(buf: bytes, start: int = 0, end: int | None = None, depth: int = 0,
                   parent: int = -1, rows: list[tuple[int, ...]] | None = None
                   ) -> list[tuple[int, ...]]:
    """An independent pre-order walk: (tag, header, value offset, length, depth, parent)."""
    rows = [] if rows is None else rows
    for item in iter_tlvs(buf, start, len(buf) if end is None else end):
        rows.append((item.tag, item.offset, item.value_offset, item.length, depth, parent))
        if buf[item.offset] & 0x20:
            recursive_walk(buf, item.value_offset, item.end, depth + 1, len(rows) - 1, rows)
    return rows


def rows_of(table: Any) -> list[tuple[int, ...]]:
    return [tuple(int(v) for v in row) for row in table.tolist()]


def test_ts48_profiles_are_walked_completely(backend: Any, ts48_profile: tuple[str, bytes]) -> None:
    name, profile = ts48_profile
    table = backend.scan_tlv(profile)
    assert table.dtype == TLV_TABLE_DTYPE
    assert len(table) == TS48_NODES[name]
    assert rows_of(table) == recursive_walk(profile)
    top = table[table["depth"] == 0]
    assert len(top) in (28, 30) and int(top["parent"].max()) == -1
    assert int(top["value_offset"][-1] + top["length"][-1]) == len(profile)
    if name == "TS48V2-SAIP2-3-NOBERTLV-UNIQUE":
        first_bytes = [profile[offset] for offset in top["header_offset"]]
        assert list(zip(top["header_offset"].tolist(), first_bytes, strict=True)) == NOBERTLV_PES


def test_table_rows_in_pre_order(backend: Any) -> None:
    buf = h("300a 800105 a105 8103010203 0400 bf2503 5f2000 9f70 8180") + bytes(0x80)
    assert rows_of(backend.scan_tlv(buf)) == [
        (0x30, 0, 2, 10, 0, -1),
        (0x80, 2, 4, 1, 1, 0),
        (0xA1, 5, 7, 5, 1, 0),
        (0x81, 7, 9, 3, 2, 2),
        (0x04, 12, 14, 0, 0, -1),
        (0xBF25, 14, 17, 3, 0, -1),
        (0x5F20, 17, 20, 0, 1, 5),
        (0x9F70, 20, 24, 0x80, 0, -1),
    ]


def test_empty_buffer_and_empty_constructed(backend: Any) -> None:
    empty = backend.scan_tlv(b"")
    assert empty.dtype == TLV_TABLE_DTYPE and len(empty) == 0
    assert rows_of(backend.scan_tlv(h("3000 3000"))) == [
        (0x30, 0, 2, 0, 0, -1), (0x30, 2, 4, 0, 0, -1)
    ]


def test_any_bytes_like_input(backend: Any) -> None:
    buf = h("a003 800101")
    expected = rows_of(backend.scan_tlv(buf))
    assert rows_of(backend.scan_tlv(bytearray(buf))) == expected
    assert rows_of(backend.scan_tlv(memoryview(buf))) == expected


@pytest.mark.parametrize(
    ("hex_buf", "kind", "offset"),
    [
        ("1f", TlvErrorKind.TRUNCATED_TAG, 0),
        ("3002 1f81", TlvErrorKind.TRUNCATED_TAG, 2),
        ("1f818201 00", TlvErrorKind.TAG_TOO_LONG, 0),
        ("04", TlvErrorKind.TRUNCATED_LENGTH, 1),
        ("048201", TlvErrorKind.TRUNCATED_LENGTH, 1),
        ("3003 0482 01", TlvErrorKind.TRUNCATED_LENGTH, 3),
        ("3080 0000", TlvErrorKind.INDEFINITE_LENGTH, 1),
        ("0485 0000000001", TlvErrorKind.LENGTH_TOO_LONG, 1),
        ("04ff", TlvErrorKind.LENGTH_TOO_LONG, 1),
        ("04817f" + "00" * 0x7F, TlvErrorKind.NON_MINIMAL_LENGTH, 1),
        ("048200ff" + "00" * 0xFF, TlvErrorKind.NON_MINIMAL_LENGTH, 1),
        ("040500", TlvErrorKind.VALUE_PAST_END, 1),
        ("3003 040500", TlvErrorKind.VALUE_PAST_END, 3),
        ("0400 3001 05", TlvErrorKind.TRUNCATED_LENGTH, 5),
    ],
)
def test_every_error_kind_with_its_offset(
    backend: Any, hex_buf: str, kind: TlvErrorKind, offset: int
) -> None:
    with pytest.raises(TlvError) as err:
        backend.scan_tlv(h(hex_buf))
    assert (err.value.kind, err.value.offset) == (kind, offset)


def _nested(levels: int) -> bytes:
    buf = b""
    for _ in range(levels):
        buf = b"\x30" + bytes([len(buf)]) + buf
    return buf


def test_nesting_depth_limit(backend: Any) -> None:
    assert len(backend.scan_tlv(_nested(DEFAULT_MAX_DEPTH))) == DEFAULT_MAX_DEPTH
    with pytest.raises(TlvError) as err:
        backend.scan_tlv(_nested(DEFAULT_MAX_DEPTH + 1))
    assert (err.value.kind, err.value.offset) == (TlvErrorKind.TOO_DEEP, 2 * DEFAULT_MAX_DEPTH)
    assert len(backend.scan_tlv(_nested(40), max_depth=40)) == 40
    for max_depth in (0, -3):
        with pytest.raises(TlvError) as err:
            backend.scan_tlv(h("0400"), max_depth=max_depth)
        assert (err.value.kind, err.value.offset) == (TlvErrorKind.TOO_DEEP, 0)
    assert len(backend.scan_tlv(b"", max_depth=0)) == 0


@pytest.mark.parametrize("header", ["0484ffffffff", "3084 7fffffff", "bf2584 40000000"])
def test_gigabyte_declared_length_on_a_short_buffer(backend: Any, header: str) -> None:
    buf = h(header) + bytes(64)
    tracemalloc.start()
    try:
        with pytest.raises(TlvError) as err:
            backend.scan_tlv(buf)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert err.value.kind is TlvErrorKind.VALUE_PAST_END
    assert err.value.offset == len(h(header)) - 5
    assert peak < 64 * 1024


def test_many_tiny_tlvs_fill_the_largest_table(backend: Any) -> None:
    # Two bytes per TLV is the densest possible buffer: one row per two bytes.
    table = backend.scan_tlv(bytes(2000))
    assert len(table) == 1000 and set(table["header_offset"].tolist()) == set(range(0, 2000, 2))


def test_table_outlives_the_scan(backend: Any) -> None:
    buf = h("a005 8003 010203") * 50
    table = backend.scan_tlv(buf)
    expected = recursive_walk(buf)
    del buf
    gc.collect()
    _ = [backend.scan_tlv(bytes(512)) for _ in range(20)]
    assert rows_of(table) == expected
    table["length"][0] = 7  # a table is an ordinary writable array
    assert isinstance(table, np.ndarray) and int(table["length"][0]) == 7
