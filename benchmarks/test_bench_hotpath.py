"""pytest-benchmark: the hot path per back-end (SCP03t segment and whole-profile wrap and
unwrap, BER-TLV scan), with a tracemalloc memory figure for whole-profile wrap and unwrap."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from m2mrsp.hotpath.types import Scp03tState

# PERF_ANCHORS.md §2: S-ENC 00..0F, S-MAC 10..1F, MCV 20..2F, counter starting at 1.
S_ENC = bytes(range(0x10))
S_MAC = bytes(range(0x10, 0x20))
S_RMAC = bytes(range(0x30, 0x40))
START = Scp03tState(mcv=bytes(range(0x20, 0x30)), counter=0)
SEGMENT_SIZES = (240, 1007)  # PERF_ANCHORS.md §2; 1007 is the project's segment size


def extra_memory(operation: Callable[[], object]) -> int:
    """Peak bytes traced by tracemalloc while ``operation`` runs, above what was there before.

    Known shortcoming: only allocations made through Python's allocators are seen; memory
    OpenSSL or the C code mallocs directly is not.
    """
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = operation()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    return peak - before


def _data(source: str, payload: bytes, profile: tuple[str, bytes]) -> bytes:
    return payload if source == "64KB" else profile[1]


@pytest.mark.parametrize("segment_size", SEGMENT_SIZES)
def test_wrap_segment(
    benchmark: Any, label: Any, backend: Any, payload: bytes, segment_size: int
) -> None:
    cipher = backend.SegmentCipher(S_ENC, S_MAC, S_RMAC)
    data = payload[:segment_size]
    label(benchmark, "wrap segment", backend.NAME, segment_bytes=segment_size)
    tlv, state = benchmark(cipher.wrap_segment, START, data)
    assert state.counter == 1 and len(tlv) > segment_size


@pytest.mark.parametrize("segment_size", SEGMENT_SIZES)
def test_unwrap_segment(
    benchmark: Any, label: Any, backend: Any, payload: bytes, segment_size: int
) -> None:
    cipher = backend.SegmentCipher(S_ENC, S_MAC, S_RMAC)
    tlv, _ = cipher.wrap_segment(START, payload[:segment_size])
    label(benchmark, "unwrap segment", backend.NAME, segment_bytes=segment_size)
    plain, _ = benchmark(cipher.unwrap_segment, START, tlv)
    assert plain == payload[:segment_size]


@pytest.mark.parametrize("segment_size", SEGMENT_SIZES)
@pytest.mark.parametrize("source", ["64KB", "TS48"])
def test_wrap_all(
    benchmark: Any,
    label: Any,
    backend: Any,
    payload: bytes,
    profile: tuple[str, bytes],
    source: str,
    segment_size: int,
) -> None:
    data = _data(source, payload, profile)
    cipher = backend.SegmentCipher(S_ENC, S_MAC, S_RMAC)
    label(
        benchmark,
        f"wrap all {source}",
        backend.NAME,
        data_bytes=len(data),
        segment_bytes=segment_size,
    )
    extra = extra_memory(lambda: cipher.wrap_all(START, data, segment_size))
    benchmark.extra_info.update(
        tracemalloc_peak_bytes=extra, tracemalloc_peak_per_input_byte=round(extra / len(data), 3)
    )
    result = benchmark(cipher.wrap_all, START, data, segment_size)
    assert len(result.tlvs) == -(-len(data) // segment_size)


@pytest.mark.parametrize("segment_size", SEGMENT_SIZES)
@pytest.mark.parametrize("source", ["64KB", "TS48"])
def test_unwrap_all(
    benchmark: Any,
    label: Any,
    backend: Any,
    payload: bytes,
    profile: tuple[str, bytes],
    source: str,
    segment_size: int,
) -> None:
    data = _data(source, payload, profile)
    cipher = backend.SegmentCipher(S_ENC, S_MAC, S_RMAC)
    tlvs = b"".join(cipher.wrap_all(START, data, segment_size).tlvs)
    label(
        benchmark,
        f"unwrap all {source}",
        backend.NAME,
        data_bytes=len(data),
        segment_bytes=segment_size,
    )
    extra = extra_memory(lambda: cipher.unwrap_all(START, tlvs))
    benchmark.extra_info.update(
        tracemalloc_peak_bytes=extra, tracemalloc_peak_per_input_byte=round(extra / len(data), 3)
    )
    result = benchmark(cipher.unwrap_all, START, tlvs)
    assert b"".join(result.plaintexts) == data


def test_scan_tlv(benchmark: Any, label: Any, backend: Any, profile: tuple[str, bytes]) -> None:
    name, package = profile
    label(benchmark, "scan TLV", backend.NAME, profile=name, profile_bytes=len(package))
    table = benchmark(backend.scan_tlv, package)
    assert len(table) > 0 and table["depth"][0] == 0
