"""SCP03t segment protection on every back-end, against PROTOCOL.md §5.9 and §9.6 vectors."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import algorithms

from m2mrsp.errors import ScpError, ScpErrorKind
from m2mrsp.hotpath.types import MAX_SEGMENT_PLAINTEXT, Scp03tState

h = bytes.fromhex

# PROTOCOL.md §5.9: self-generated SCP03t example continuing the §4.7 key establishment.
S_ENC = h("bee8ea6a721ce0a884e74551d4a521e9")
S_MAC = h("801ebe19b0c23e31f36396f2eda36307")
S_RMAC = h("22da8dd9bc12b29078b8368af0a23775")
MCV_AFTER_85 = h("bbd47bdcdc4dd8b8cbf32ab1e5a7c096")
HEADER_PE = h("a01a800102810103830a89000123456789012341a50481008400a600")
SEGMENT_86 = h(
    "8628 6d3332825955385e1d2ce49ed1e9387f769f3f7b914ab971b38f32eebae810fb 475ec623da75b192"
)
MCV_AFTER_86 = h("475ec623da75b192a6836bdee245063f")
EUICC_RESPONSE_OK = h("3007a0053003800100")
RESPONSE_86 = h("8618 30b15b35ea0b4b32a0b3b69e8e62e668 55097ccc98131835")

# PROTOCOL.md §9.6 vector B (pySim tests/unittests/test_esim_bsp.py, third-party SM-DP+ trace):
# SGP.22 BSP shares SCP03t's TLV encryption and MAC rules; counter 1 and 3 are encrypt+MAC.
BSP_ENC = h("472f5bfadd97f21d34f3ce9b51b92751")
BSP_MAC = h("9ec07f5b36a13e12a991d66e294e6242")
BSP_MCV = h("406d507b448a699e7a36a38494debbde")
BSP_PLAIN_1 = h("bf2400")
BSP_TLV_1 = h("8718f6fe031e4b9cfe87c8e1e62f3fde85c49412d7722a6a2d89")
BSP_PLAIN_2 = h(
    "bf252d5a0a98001032547698103214910947534d415f54455354921147534d415f544553545f50524f46494c45"
    "950100"
)
BSP_MAC_2 = h("8a62cc9adbb5ccbc")
BSP_PLAIN_3 = h(
    "bf26368010000102030405060708090a0b0c0d0e0f8110010102030405060708090a0b0c0d0e0f8210020102"
    "030405060708090a0b0c0d0e0f"
)
BSP_TLV_3 = h(
    "8748a14c800a001992351cd46ad2945654674369701d82b7b46567652bc8fbed234939fc57fba748015525fd"
    "6c651e9d3d1330652d42a0cfad950e912122af4ec5362d3c0bc535729c40"
)


def _cipher(
    backend: Any, s_enc: bytes = S_ENC, s_mac: bytes = S_MAC, s_rmac: bytes = S_RMAC
) -> Any:
    return backend.SegmentCipher(s_enc, s_mac, s_rmac)


def test_wrap_matches_worked_example(backend: Any) -> None:
    tlv, state = _cipher(backend).wrap_segment(Scp03tState(MCV_AFTER_85, 0), HEADER_PE)
    assert tlv == SEGMENT_86
    assert state == Scp03tState(MCV_AFTER_86, 1)


def test_unwrap_matches_worked_example(backend: Any) -> None:
    plain, state = _cipher(backend).unwrap_segment(Scp03tState(MCV_AFTER_85, 0), SEGMENT_86)
    assert plain == HEADER_PE
    assert state == Scp03tState(MCV_AFTER_86, 1)


def test_response_matches_worked_example(backend: Any) -> None:
    cipher = _cipher(backend)
    state = Scp03tState(MCV_AFTER_86, 1)
    assert cipher.wrap_response(state, EUICC_RESPONSE_OK) == RESPONSE_86
    assert cipher.unwrap_response(state, RESPONSE_86) == EUICC_RESPONSE_OK


def test_empty_response_is_mac_only(backend: Any) -> None:
    cipher = _cipher(backend)
    state = Scp03tState(MCV_AFTER_86, 1)
    ack = cipher.wrap_response(state, b"")
    ctx = cmac.CMAC(algorithms.AES(S_RMAC))
    ctx.update(MCV_AFTER_86 + b"\x86\x08")
    assert ack == b"\x86\x08" + ctx.finalize()[:8]
    assert cipher.unwrap_response(state, ack) == b""


def test_bsp_vectors(backend: Any) -> None:
    cipher = _cipher(backend, BSP_ENC, BSP_MAC, bytes(16))
    tlv1, state = cipher.wrap_segment(Scp03tState(BSP_MCV, 0), BSP_PLAIN_1, tag=0x87)
    assert tlv1 == BSP_TLV_1
    # Step 2 is MAC-only (BSP tag 88), which SCP03t lacks: compute its MCV with a plain CMAC.
    header_2 = b"\x88\x38"
    ctx = cmac.CMAC(algorithms.AES(BSP_MAC))
    ctx.update(state.mcv + header_2 + BSP_PLAIN_2)
    mcv_2 = ctx.finalize()
    assert mcv_2[:8] == BSP_MAC_2
    tlv3, _ = cipher.wrap_segment(Scp03tState(mcv_2, 2), BSP_PLAIN_3, tag=0x87)
    assert tlv3 == BSP_TLV_3


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 1006, MAX_SEGMENT_PLAINTEXT])
def test_round_trip_at_boundaries(backend: Any, size: int) -> None:
    data = bytes(range(256)) * 4
    data = data[:size]
    start = Scp03tState(MCV_AFTER_85, 41)
    tlv, sent = _cipher(backend).wrap_segment(start, data)
    assert len(tlv) <= 1020
    plain, received = _cipher(backend).unwrap_segment(start, tlv)
    assert plain == data
    assert received == sent == Scp03tState(sent.mcv, 42)


def test_largest_segment_is_1020_bytes(backend: Any) -> None:
    tlv, _ = _cipher(backend).wrap_segment(Scp03tState(bytes(16), 0), bytes(1007))
    assert tlv[:4] == h("868203f8") and len(tlv) == 1020
    with pytest.raises(ScpError) as err:
        _cipher(backend).wrap_segment(Scp03tState(bytes(16), 0), bytes(1008))
    assert err.value.kind is ScpErrorKind.SEGMENT_TOO_LARGE


def test_wrap_all_then_unwrap_all(backend: Any) -> None:
    data = bytes((i * 7) & 0xFF for i in range(5000))
    start = Scp03tState(MCV_AFTER_85, 0)
    wrapped = _cipher(backend).wrap_all(start, data, 1007)
    assert [len(t) for t in wrapped.tlvs] == [1020] * 4 + [988]
    unwrapped = _cipher(backend).unwrap_all(start, b"".join(wrapped.tlvs))
    assert b"".join(unwrapped.plaintexts) == data
    assert unwrapped.mcvs == wrapped.mcvs
    assert unwrapped.state == wrapped.state == Scp03tState(wrapped.mcvs[-1], 5)


def test_flipped_bit_is_a_mac_error_before_decryption(backend: Any) -> None:
    start = Scp03tState(MCV_AFTER_85, 0)
    for index in range(len(SEGMENT_86) - 2):
        tampered = bytearray(SEGMENT_86)
        tampered[2 + index] ^= 0x01
        with pytest.raises(ScpError) as err:
            _cipher(backend).unwrap_segment(start, bytes(tampered))
        assert err.value.kind is ScpErrorKind.MAC_MISMATCH
        assert err.value.offset == len(SEGMENT_86) - 8


def test_batch_error_reports_segment_offset_and_partial(backend: Any) -> None:
    start = Scp03tState(MCV_AFTER_85, 0)
    wrapped = _cipher(backend).wrap_all(start, bytes(3000), 1000)
    blob = bytearray(b"".join(wrapped.tlvs))
    second = len(wrapped.tlvs[0])
    blob[second + 10] ^= 0x80
    with pytest.raises(ScpError) as err:
        _cipher(backend).unwrap_all(start, bytes(blob))
    assert (err.value.kind, err.value.segment) == (ScpErrorKind.MAC_MISMATCH, 1)
    assert err.value.offset == second + len(wrapped.tlvs[1]) - 8
    assert err.value.partial.plaintexts == [bytes(1000)]
    assert err.value.partial.state == Scp03tState(wrapped.mcvs[0], 1)


@pytest.mark.parametrize(
    ("blob", "kind", "offset"),
    [
        (h("8710") + bytes(16), ScpErrorKind.WRONG_TAG, 0),
        (h("8682"), ScpErrorKind.MALFORMED_TLV, 1),
        (h("86 10") + bytes(16), ScpErrorKind.BAD_LENGTH, 1),
        (h("86 19") + bytes(25), ScpErrorKind.BAD_LENGTH, 1),
        (h("86 8203fd") + bytes(0x3FD), ScpErrorKind.SEGMENT_TOO_LARGE, 0),
        (h("86 84ffffffff") + bytes(40), ScpErrorKind.MALFORMED_TLV, 1),
    ],
)
def test_malformed_segments(
    backend: Any, blob: bytes, kind: ScpErrorKind, offset: int
) -> None:
    with pytest.raises(ScpError) as err:
        _cipher(backend).unwrap_all(Scp03tState(bytes(16), 0), blob)
    assert (err.value.kind, err.value.segment, err.value.offset) == (kind, 0, offset)


def test_replayed_segment_fails(backend: Any) -> None:
    start = Scp03tState(MCV_AFTER_85, 0)
    card = _cipher(backend)
    _, state = card.unwrap_segment(start, SEGMENT_86)
    with pytest.raises(ScpError) as err:
        card.unwrap_segment(state, SEGMENT_86)
    assert err.value.kind is ScpErrorKind.MAC_MISMATCH


def test_bad_padding_is_reported_after_a_good_mac(backend: Any) -> None:
    # A correctly MACed segment whose plain text is all zeros (no 80 marker).
    from cryptography.hazmat.primitives.ciphers import Cipher, modes

    icv_enc = Cipher(algorithms.AES(S_ENC), modes.ECB()).encryptor()
    icv = icv_enc.update((1).to_bytes(16, "big"))
    enc = Cipher(algorithms.AES(S_ENC), modes.CBC(icv)).encryptor()
    cipher_text = enc.update(bytes(16)) + enc.finalize()
    ctx = cmac.CMAC(algorithms.AES(S_MAC))
    ctx.update(MCV_AFTER_85 + b"\x86\x18" + cipher_text)
    tlv = b"\x86\x18" + cipher_text + ctx.finalize()[:8]
    with pytest.raises(ScpError) as err:
        _cipher(backend).unwrap_segment(Scp03tState(MCV_AFTER_85, 0), tlv)
    assert (err.value.kind, err.value.offset) == (ScpErrorKind.BAD_PADDING, 2)
