"""Shared by the fuzz targets: both back-ends, a comparable outcome, and the two run modes.

Each target checks that the native back-end gives what the pure-Python twin gives (same bytes,
or the same error class, kind, segment, offset and partial result), so a fuzzer finds memory
errors (with the sanitizer build) and any divergence from the twin alike.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from m2mrsp import backend as selection
from m2mrsp.errors import ScpError, TlvError

if not selection.HAS_NATIVE:
    sys.exit(f"fuzzing needs the native back-end: {selection.NATIVE_ERROR}")
PYTHON = selection.get("python")
NATIVE = selection.get("native")

from m2mrsp._native import ffi, lib  # noqa: E402  (only for the exact-size calls below)


def exact(data: bytes) -> Any:
    """A heap copy of exactly ``len(data)`` bytes (a ``bytes`` object has a spare NUL byte).

    Under AddressSanitizer with ``PYTHONMALLOC=malloc`` (scripts/sanitize.sh) a read one byte
    past the end of such a buffer is reported.
    """
    if not data:
        return ffi.NULL
    # ffi.new("uint8_t[]", data) would add a NUL byte: size the array explicitly.
    copy = ffi.new("uint8_t[]", len(data))
    ffi.memmove(copy, data, len(data))
    return copy


def raw_scan(buf: bytes, max_depth: int) -> None:
    """The C scanner on an exact-size input and an exact-size table of the largest row count."""
    capacity = len(buf) // 2 + 1
    rows = ffi.new("m2m_tlv_row[]", capacity)
    lib.m2m_tlv_scan(exact(buf), len(buf), max_depth, rows, capacity, ffi.new("size_t *"),
                     ffi.new("m2m_fault *"))


def raw_unwrap(scp: Any, state: bytes, tlvs: bytes) -> None:
    """The C batch unwrap on exact-size input, output and per-segment buffers."""
    count = ffi.new("size_t *")
    lib.m2m_tlv_count(exact(tlvs), len(tlvs), count)
    slots = count[0]
    lib.m2m_scp03t_unwrap_all(
        scp, state, len(state), exact(tlvs), len(tlvs), 0x86, ffi.new("uint8_t[]", len(tlvs) or 1),
        len(tlvs), ffi.new("size_t[]", slots) if slots else ffi.NULL,
        ffi.new("uint8_t[]", 16 * slots) if slots else ffi.NULL, slots, count,
        ffi.new("m2m_scp_state *"), ffi.new("m2m_fault *"),
    )


def outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    """What a call did, in a form comparable with ``==`` across back-ends."""
    try:
        result = call()
    except ScpError as err:
        return ("ScpError", err.kind, err.segment, err.offset, str(err), err.partial)
    except TlvError as err:
        return ("TlvError", err.kind, err.offset, str(err))
    except (ValueError, OverflowError) as err:
        return (type(err).__name__,)
    if isinstance(result, np.ndarray):
        return ("table", result.dtype, result.tobytes())
    return ("ok", result)


def assert_same(what: str, call: Callable[[Any], Any]) -> None:
    """Run ``call`` on each back-end's object and require equal outcomes."""
    expected = outcome(lambda: call(PYTHON))
    found = outcome(lambda: call(NATIVE))
    if found != expected:
        raise AssertionError(f"{what}: native {found!r} != python {expected!r}")


class Reader:
    """Consumes a fuzz input as small integers and byte strings (never fails: pads with 0)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        value = self.data[self.pos] if self.pos < len(self.data) else 0
        self.pos += 1
        return value

    def number(self, limit: int) -> int:
        """An integer in 0..limit-1 from two bytes."""
        return ((self.byte() << 8) | self.byte()) % max(limit, 1)

    def rest(self) -> bytes:
        return self.data[self.pos :]


def main(check: Callable[[bytes], None], seeds: Callable[[random.Random], bytes]) -> None:
    """``--replay N``: N seeded inputs without atheris; otherwise hand argv to atheris."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--replay", type=int, default=0)
    args, rest = parser.parse_known_args()
    if args.replay:
        rng = random.Random(20261203)
        for _ in range(args.replay):
            check(seeds(rng))
        print(f"{sys.argv[0]}: {args.replay} inputs replayed, twins agree")
        return
    import atheris

    atheris.Setup([sys.argv[0], *rest], check)
    atheris.Fuzz()
