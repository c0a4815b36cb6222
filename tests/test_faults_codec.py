"""Malformed BER-TLV, DGI and SCP03t TLVs on both back-ends (docs/FAULTS.md, codec rows).

Both back-ends must report the same :class:`TlvError` kind and offset (``scan_tlv``) or
:class:`ScpError` kind, segment and offset (segment unwrap) for every malformation, and a
declared length of gigabytes must never be allocated: the last test runs every parser on such
input in a child process whose address space is capped a few hundred megabytes above what it
already uses.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest

from m2mrsp import tlv
from m2mrsp.errors import ScpError, ScpErrorKind, TlvError, TlvErrorKind
from m2mrsp.hotpath.types import Scp03tState
from m2mrsp.protocol import dgi

h = bytes.fromhex
K = TlvErrorKind
NESTED_17 = b"".join(bytes((0xA0, 2 * (16 - i))) for i in range(17))


@pytest.mark.parametrize(
    ("data", "kind", "offset"),
    [
        (h("1F"), K.TRUNCATED_TAG, 0),
        (h("8000 5F"), K.TRUNCATED_TAG, 2),
        (h("1F8181 01 00"), K.TAG_TOO_LONG, 0),
        (h("80"), K.TRUNCATED_LENGTH, 1),
        (h("80 8201"), K.TRUNCATED_LENGTH, 1),
        (h("A0 80 0000"), K.INDEFINITE_LENGTH, 1),
        (h("80 85 0000000001"), K.LENGTH_TOO_LONG, 1),
        (h("80 88 FFFFFFFFFFFFFFFF"), K.LENGTH_TOO_LONG, 1),
        (h("80 8105") + bytes(5), K.NON_MINIMAL_LENGTH, 1),
        (h("80 820080") + bytes(128), K.NON_MINIMAL_LENGTH, 1),
        (h("80 05 00"), K.VALUE_PAST_END, 1),
        (h("80 84 40000000 00"), K.VALUE_PAST_END, 1),  # a gigabyte declared
        (h("80 84 FFFFFFFF") + bytes(16), K.VALUE_PAST_END, 1),
        (h("A0 03 80 05 00"), K.VALUE_PAST_END, 3),  # past the parent's end
        (h("A0 06 A1 84 7FFFFFFF"), K.VALUE_PAST_END, 3),
        (NESTED_17, K.TOO_DEEP, 32),
    ],
)
def test_malformed_tlv_same_error_on_both_back_ends(
    backend: Any, data: bytes, kind: TlvErrorKind, offset: int
) -> None:
    with pytest.raises(TlvError) as err:
        backend.scan_tlv(data)
    assert (err.value.kind, err.value.offset) == (kind, offset)
    if kind is not K.TOO_DEEP and data[0] & 0x20 == 0:
        with pytest.raises(TlvError) as err:
            list(tlv.iter_tlvs(data))  # the codec the protocol layers use agrees
        assert (err.value.kind, err.value.offset) == (kind, offset)


def test_sixteen_levels_are_fine(backend: Any) -> None:
    table = backend.scan_tlv(NESTED_17[2:])
    assert len(table) == 16 and int(table[-1]["depth"]) == 15


@pytest.mark.parametrize(
    ("data", "kind", "offset"),
    [
        (h("3A"), K.TRUNCATED_TAG, 0),
        (h("3A01"), K.TRUNCATED_LENGTH, 2),
        (h("3A01 FF01"), K.TRUNCATED_LENGTH, 2),
        (h("3A01 FF0010") + bytes(16), K.NON_MINIMAL_LENGTH, 2),
        (h("3A01 FFFFFF") + bytes(8), K.VALUE_PAST_END, 2),
        (h("3A01 82FFFF") + bytes(8), K.VALUE_PAST_END, 2),  # neither reading fits
        (h("3A01 02 0000 3A"), K.TRUNCATED_TAG, 5),
    ],
)
def test_malformed_dgis(data: bytes, kind: TlvErrorKind, offset: int) -> None:
    with pytest.raises(TlvError) as err:
        list(dgi.iter_dgis(data))
    assert (err.value.kind, err.value.offset) == (kind, offset)


KEYS = (bytes(range(16)), bytes(range(16, 32)), bytes(range(32, 48)))
STATE = Scp03tState(bytes(16), 0)


@pytest.mark.parametrize(
    ("data", "kind", "offset"),
    [
        (b"", ScpErrorKind.MALFORMED_TLV, 0),
        (h("86"), ScpErrorKind.MALFORMED_TLV, 1),
        (h("86 80") + bytes(24), ScpErrorKind.MALFORMED_TLV, 1),
        (h("86 84 40000000") + bytes(24), ScpErrorKind.MALFORMED_TLV, 1),
        (h("86 85 0000000018") + bytes(24), ScpErrorKind.MALFORMED_TLV, 1),
        (h("87 18") + bytes(24), ScpErrorKind.WRONG_TAG, 0),
        (h("86 820400") + bytes(1024), ScpErrorKind.SEGMENT_TOO_LARGE, 0),
        (h("86 10") + bytes(16), ScpErrorKind.BAD_LENGTH, 1),
        (h("86 19") + bytes(25), ScpErrorKind.BAD_LENGTH, 1),
        (h("86 18") + bytes(24), ScpErrorKind.MAC_MISMATCH, 18),
        (h("86 18") + bytes(24) + h("00"), ScpErrorKind.MAC_MISMATCH, 18),
    ],
)
def test_malformed_segments_same_error_on_both_back_ends(
    backend: Any, data: bytes, kind: ScpErrorKind, offset: int
) -> None:
    cipher = backend.SegmentCipher(*KEYS)
    with pytest.raises(ScpError) as err:
        cipher.unwrap_segment(STATE, data)
    assert (err.value.kind, err.value.segment, err.value.offset) == (kind, 0, offset)
    with pytest.raises(ScpError) as err:
        cipher.unwrap_all(STATE, data) if data else cipher.unwrap_segment(STATE, data)
    assert err.value.kind is kind


def test_trailing_bytes_after_a_valid_segment(backend: Any) -> None:
    cipher = backend.SegmentCipher(*KEYS)
    segment, _ = backend.SegmentCipher(*KEYS).wrap_segment(STATE, b"profile")
    with pytest.raises(ScpError) as err:
        cipher.unwrap_segment(STATE, segment + b"\x00")
    assert (err.value.kind, err.value.offset) == (ScpErrorKind.MALFORMED_TLV, len(segment))


@pytest.mark.parametrize(
    "answer",
    [b"", h("86"), h("86 07") + bytes(7), h("86 84 7FFFFFFF") + bytes(8), h("86 09") + bytes(9),
     h("85 08") + bytes(8), h("86 08") + bytes(8)],
)
def test_malformed_responses_are_typed_errors(backend: Any, answer: bytes) -> None:
    cipher = backend.SegmentCipher(*KEYS)
    with pytest.raises(ScpError):
        cipher.unwrap_response(STATE, answer)


_NO_BIG_ALLOCATION = textwrap.dedent(
    """
    import resource, sys
    from m2mrsp import backend as backends
    from m2mrsp.entities.euicc import Euicc
    from m2mrsp.errors import M2mRspError
    from m2mrsp.hotpath.types import Scp03tState
    from m2mrsp.protocol import dgi, es5, keyest, certs
    from m2mrsp.saip.interpreter import ProfileInstaller
    from m2mrsp import tlv

    def vm_bytes():
        for line in open("/proc/self/status"):
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024

    resource.setrlimit(resource.RLIMIT_AS, (vm_bytes() + (384 << 20),) * 2)
    giga = [bytes.fromhex(x) for x in ("84 7FFFFFFF", "84 FFFFFFFF", "84 40000000")]
    failures = []

    def expect_typed(name, call):
        try:
            call()
        except M2mRspError:
            return
        except MemoryError:
            failures.append(name + ": MemoryError")
            return
        failures.append(name + ": accepted")

    for length in giga:
        for name in backends.available():
            b = backends.get(name)
            cipher = b.SegmentCipher(bytes(16), bytes(16), bytes(16))
            state = Scp03tState(bytes(16), 0)
            body = b"\\x86" + length + bytes(64)
            expect_typed(name + " scan", lambda: b.scan_tlv(b"\\xa0" + length + bytes(64)))
            expect_typed(name + " unwrap", lambda: cipher.unwrap_segment(state, body))
            expect_typed(name + " unwrap_all", lambda: cipher.unwrap_all(state, body))
            expect_typed(name + " response", lambda: cipher.unwrap_response(state, body))
            installer = ProfileInstaller(scan_tlv=b.scan_tlv)
            expect_typed(name + " ppi", lambda: installer.feed(b"\\xa0" + length + bytes(64))
                         or installer.feed(b"\\x30" + bytes(20)))
        expect_typed("tlv", lambda: tlv.decode_single(b"\\x04" + length + bytes(8)))
        expect_typed("script", lambda: es5.parse_command_script(b"\\xaa" + length + bytes(8)))
        expect_typed("certificate", lambda: certs.parse_certificate(
            b"\\x7f\\x21" + length + bytes(8)))
        expect_typed("dgi", lambda: list(dgi.iter_dgis(b"\\x3a\\x01\\xff\\xff\\xff" + bytes(8))))
        expect_typed("key agreement", lambda: keyest.parse_key_agreement_command(
            b"\\x3a\\x02\\x82\\xff\\xff" + bytes(8)))
    big = bytearray(1 << 29)  # the cap is real: half a gigabyte cannot be had
    failures.append("the address-space cap did not hold")
    print("\\n".join(failures))
    """
)


def test_gigabyte_declared_lengths_are_never_allocated() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _NO_BIG_ALLOCATION], capture_output=True, text=True, timeout=120
    )
    # The script ends by allocating 512 MiB on purpose, which must fail under the cap.
    assert "MemoryError" in result.stderr, result.stderr
    assert result.stdout == "", result.stdout
