"""Fuzz target: card-side SCP03t unwrap, native against its pure twin (see fuzz/README.md).

The first input byte picks how the rest is used: as raw TLVs; as a wrapped payload then
damaged (bit flip, truncation, byte insertion); or as cipher text inside a segment whose MAC is
valid, which drives decryption and the padding check with arbitrary plain text.
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
        import m2mrsp.hotpath.scp03t_py  # noqa: F401  (coverage of the twin guides the fuzzer)
        import m2mrsp.tlv  # noqa: F401

from common import NATIVE, PYTHON, Reader, assert_same, main, raw_unwrap
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import algorithms

from m2mrsp.hotpath.types import MAX_SEGMENT_PLAINTEXT, Scp03tState
from m2mrsp.tlv import encode_length

S_ENC, S_MAC, S_RMAC = bytes(range(16)), bytes(range(16, 32)), bytes(range(32, 48))
STATE = Scp03tState(bytes(range(48, 64)), 41)
CIPHERS = {b.NAME: b.SegmentCipher(S_ENC, S_MAC, S_RMAC) for b in (PYTHON, NATIVE)}


def _damaged(reader: Reader) -> bytes:
    payload = reader.rest()[: reader.number(3000)]
    segment_size = 1 + reader.number(MAX_SEGMENT_PLAINTEXT)
    blob = bytearray(b"".join(CIPHERS["python"].wrap_all(STATE, payload, segment_size).tlvs))
    for _ in range(reader.byte() % 4):
        where = reader.number(len(blob) + 1)
        action = reader.byte() % 3
        if action == 0 and where < len(blob):
            blob[where] ^= 1 << (reader.byte() % 8)
        elif action == 1:
            del blob[where:]
        else:
            blob[where:where] = bytes([reader.byte()])
    return bytes(blob)


def _mac_valid(reader: Reader, key: bytes) -> bytes:
    cipher_text = reader.rest()[:1008]
    cipher_text = cipher_text[: len(cipher_text) // 16 * 16]
    header = b"\x86" + encode_length(len(cipher_text) + 8)
    mac = cmac.CMAC(algorithms.AES(key))
    mac.update(STATE.mcv + header + cipher_text)
    return header + cipher_text + mac.finalize()[:8]


def check(data: bytes) -> None:
    reader = Reader(data)
    mode = reader.byte() % 4
    if mode == 0:
        blob = reader.rest()
    elif mode == 1:
        blob = _damaged(reader)
    else:
        blob = _mac_valid(reader, S_MAC if mode == 2 else S_RMAC)
    for method in ("unwrap_all", "unwrap_segment", "unwrap_response"):
        assert_same(method, lambda b, m=method: getattr(CIPHERS[b.NAME], m)(STATE, blob))
    raw_unwrap(CIPHERS["native"]._scp, STATE.mcv + STATE.counter.to_bytes(16, "big"), blob)


def seed(rng: random.Random) -> bytes:
    return bytes([rng.randrange(4)]) + rng.randbytes(rng.randrange(0, 1200))


if __name__ == "__main__":
    main(check, seed)
