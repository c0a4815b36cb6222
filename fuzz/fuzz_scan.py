"""Fuzz target: the BER-TLV scanner, native against its pure twin (see fuzz/README.md).

The first input byte picks the depth limit; the rest is the buffer walked.
"""

from __future__ import annotations

import random
import sys

try:
    import atheris
except ImportError:  # replay mode runs without it
    atheris = None

if atheris is not None and "--replay" not in sys.argv:
    with atheris.instrument_imports(include=["m2mrsp"]):
        import m2mrsp.hotpath.bertlv_py  # noqa: F401  (coverage of the twin guides the fuzzer)
        import m2mrsp.tlv  # noqa: F401

from common import Reader, assert_same, main, raw_scan

from m2mrsp.tlv import encode_tlv

PROFILE_HEADER = bytes.fromhex("a01a800102810103830a89000123456789012341a50481008400a600")


def check(data: bytes) -> None:
    reader = Reader(data)
    max_depth = reader.byte() % 20
    buf = reader.rest()
    assert_same("scan_tlv", lambda backend: backend.scan_tlv(buf, max_depth))
    raw_scan(buf, max_depth)


def seed(rng: random.Random) -> bytes:
    """A replay input: random bytes, or a nested TLV with a few random byte edits."""
    if rng.random() < 0.3:
        return rng.randbytes(rng.randrange(0, 400))
    inner = b"".join(
        encode_tlv(rng.choice([0x80, 0x81, 0x5F20, 0xA0, 0x04]), rng.randbytes(rng.randrange(200)))
        for _ in range(rng.randrange(1, 6))
    )
    buf = bytearray(PROFILE_HEADER + encode_tlv(rng.choice([0x30, 0xBF25, 0xA3]), inner))
    for _ in range(rng.randrange(0, 4)):
        if buf:
            buf[rng.randrange(len(buf))] = rng.randrange(256)
    return bytes([rng.randrange(256)]) + bytes(buf[: rng.randrange(len(buf) + 1)])


if __name__ == "__main__":
    main(check, seed)
