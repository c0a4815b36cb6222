"""Pure-Python twin of the SCP03t segment protection (contract in :mod:`.types`).

Tuned for ``cryptography``: creating a cipher or CMAC object costs 10-28 µs, far more than the
AES work on one segment (PERF_ANCHORS.md §4), so a :class:`SegmentCipher` opens its AES
contexts once. One ECB encryptor yields the ICVs. One CBC encryptor and one CBC decryptor stay
open for the whole session, started with a zero IV: their internal chaining value is then the
last cipher-text block they saw, and XORing ``chain ⊕ ICV`` into the first block of the next
message makes the open context behave as if it had been re-initialised with ``IV = ICV``.
CMACs are taken from a keyed template with ``copy()``.
"""

from __future__ import annotations

import hmac

from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from m2mrsp.errors import ScpError, ScpErrorKind, TlvError
from m2mrsp.hotpath.types import (
    BLOCK,
    MAC_LENGTH,
    MAX_SEGMENT_TLV,
    SEGMENT_TAG,
    Scp03tState,
    UnwrapResult,
    WrapResult,
    check_plaintext_length,
    check_segment_size,
)
from m2mrsp.tlv import encode_length, read_header, tag_bytes

NAME = "python"

_ZERO_BLOCK = bytes(BLOCK)
_MIN_COMMAND_VALUE = BLOCK + MAC_LENGTH


def _xor16(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(BLOCK, "big")


def _pad(data: bytes) -> bytes:
    """ISO/IEC 9797-1 method 2: ``80`` then zeros up to a whole block (1..16 bytes added)."""
    return data + b"\x80" + bytes(BLOCK - 1 - len(data) % BLOCK)


def _unpad(padded: bytes) -> bytes | None:
    """Strip method-2 padding; ``None`` when it is not ``80 00..`` within the last block."""
    stripped = padded.rstrip(b"\x00")
    if not stripped or stripped[-1] != 0x80 or len(padded) - len(stripped) >= BLOCK:
        return None
    return stripped[:-1]


class SegmentCipher:
    """SCP03t protection of segments and their responses under one set of session keys."""

    def __init__(self, s_enc: bytes, s_mac: bytes, s_rmac: bytes) -> None:
        for name, key in (("S-ENC", s_enc), ("S-MAC", s_mac), ("S-RMAC", s_rmac)):
            if len(key) != BLOCK:
                raise ValueError(f"{name} must be 16 bytes, not {len(key)}")
        aes = algorithms.AES(s_enc)
        self._ecb = Cipher(aes, modes.ECB()).encryptor()
        self._cbc_enc = Cipher(aes, modes.CBC(_ZERO_BLOCK)).encryptor()
        self._cbc_dec = Cipher(aes, modes.CBC(_ZERO_BLOCK)).decryptor()
        self._enc_chain = _ZERO_BLOCK
        self._dec_chain = _ZERO_BLOCK
        self._cmac = cmac.CMAC(algorithms.AES(s_mac))
        self._rmac = cmac.CMAC(algorithms.AES(s_rmac))

    # -- AES on the open contexts -------------------------------------------------------------

    def _encrypt(self, icv: bytes, padded: bytes) -> bytes:
        first = _xor16(padded[:BLOCK], _xor16(icv, self._enc_chain))
        out = self._cbc_enc.update(first + padded[BLOCK:])
        self._enc_chain = out[-BLOCK:]
        return out

    def _decrypt(self, icv: bytes, cipher_text: bytes) -> bytes:
        chain = self._dec_chain
        out = self._cbc_dec.update(cipher_text)
        self._dec_chain = cipher_text[-BLOCK:]
        return _xor16(out[:BLOCK], _xor16(icv, chain)) + out[BLOCK:]

    def _command_icv(self, counter: int) -> bytes:
        return self._ecb.update(counter.to_bytes(BLOCK, "big"))

    def _response_icv(self, counter: int) -> bytes:
        return self._ecb.update(b"\x80" + counter.to_bytes(BLOCK, "big")[1:])

    @staticmethod
    def _mac(template: cmac.CMAC, *parts: bytes) -> bytes:
        ctx = template.copy()
        for part in parts:
            ctx.update(part)
        return ctx.finalize()

    # -- commands (SM-DP wraps, card unwraps) -------------------------------------------------

    def wrap_segment(
        self, state: Scp03tState, data: bytes, tag: int = SEGMENT_TAG
    ) -> tuple[bytes, Scp03tState]:
        """Encrypt and MAC ``data`` as one TLV (PROTOCOL.md §5.6-5.7)."""
        check_plaintext_length(len(data))
        counter = state.counter + 1
        cipher_text = self._encrypt(self._command_icv(counter), _pad(data))
        header = tag_bytes(tag) + encode_length(len(cipher_text) + MAC_LENGTH)
        full_mac = self._mac(self._cmac, state.mcv, header, cipher_text)
        return header + cipher_text + full_mac[:MAC_LENGTH], Scp03tState(full_mac, counter)

    def wrap_all(
        self, state: Scp03tState, data: bytes, segment_size: int, tag: int = SEGMENT_TAG
    ) -> WrapResult:
        """Cut ``data`` into ``segment_size`` chunks and wrap each (no segment for no data)."""
        check_segment_size(segment_size)
        tlvs: list[bytes] = []
        mcvs: list[bytes] = []
        for start in range(0, len(data), segment_size):
            tlv, state = self.wrap_segment(state, data[start : start + segment_size], tag)
            tlvs.append(tlv)
            mcvs.append(state.mcv)
        return WrapResult(tlvs, mcvs, state)

    def unwrap_segment(
        self, state: Scp03tState, tlv: bytes, tag: int = SEGMENT_TAG
    ) -> tuple[bytes, Scp03tState]:
        """Check and decrypt exactly one command TLV (card side)."""
        plain, state, end = self._unwrap_at(state, tlv, 0, tag, 0)
        if end != len(tlv):
            raise ScpError(ScpErrorKind.MALFORMED_TLV, 0, end, "trailing bytes after the TLV")
        return plain, state

    def unwrap_all(
        self, state: Scp03tState, tlvs: bytes, tag: int = SEGMENT_TAG
    ) -> UnwrapResult:
        """Check and decrypt consecutive command TLVs; stop at the first failure.

        Raises:
            ScpError: with ``segment``, ``offset`` and ``partial`` (an :class:`UnwrapResult` of
                the segments before the failing one).
        """
        plaintexts: list[bytes] = []
        mcvs: list[bytes] = []
        pos = 0
        while pos < len(tlvs):
            try:
                plain, state, pos = self._unwrap_at(state, tlvs, pos, tag, len(plaintexts))
            except ScpError as err:
                err.partial = UnwrapResult(plaintexts, mcvs, state)
                raise
            plaintexts.append(plain)
            mcvs.append(state.mcv)
        return UnwrapResult(plaintexts, mcvs, state)

    def _unwrap_at(
        self, state: Scp03tState, buf: bytes, pos: int, tag: int, segment: int
    ) -> tuple[bytes, Scp03tState, int]:
        value_offset, length = self._checked_header(buf, pos, tag, segment, _MIN_COMMAND_VALUE)
        end = value_offset + length
        cipher_text = buf[value_offset : end - MAC_LENGTH]
        full_mac = self._mac(self._cmac, state.mcv, buf[pos:value_offset], cipher_text)
        if not hmac.compare_digest(full_mac[:MAC_LENGTH], buf[end - MAC_LENGTH : end]):
            raise ScpError(ScpErrorKind.MAC_MISMATCH, segment, end - MAC_LENGTH)
        counter = state.counter + 1
        plain = _unpad(self._decrypt(self._command_icv(counter), cipher_text))
        if plain is None:
            raise ScpError(ScpErrorKind.BAD_PADDING, segment, value_offset)
        return plain, Scp03tState(full_mac, counter), end

    @staticmethod
    def _checked_header(
        buf: bytes, pos: int, tag: int, segment: int, min_value: int
    ) -> tuple[int, int]:
        try:
            found, value_offset, length = read_header(buf, pos, len(buf))
        except TlvError as err:
            raise ScpError(ScpErrorKind.MALFORMED_TLV, segment, err.offset, str(err)) from None
        if found != tag:
            raise ScpError(ScpErrorKind.WRONG_TAG, segment, pos, f"{found:X} instead of {tag:X}")
        if value_offset + length - pos > MAX_SEGMENT_TLV:
            raise ScpError(ScpErrorKind.SEGMENT_TOO_LARGE, segment, pos)
        if length < min_value or (length - MAC_LENGTH) % BLOCK:
            raise ScpError(ScpErrorKind.BAD_LENGTH, segment, pos + len(tag_bytes(tag)))
        return value_offset, length

    # -- responses (card wraps, SM-DP unwraps) ------------------------------------------------

    def wrap_response(self, state: Scp03tState, data: bytes, tag: int = SEGMENT_TAG) -> bytes:
        """R-ENC (when there is data) and R-MAC of the answer to the command whose state this is."""
        check_plaintext_length(len(data))
        cipher_text = self._encrypt(self._response_icv(state.counter), _pad(data)) if data else b""
        header = tag_bytes(tag) + encode_length(len(cipher_text) + MAC_LENGTH)
        r_mac = self._mac(self._rmac, state.mcv, header, cipher_text)[:MAC_LENGTH]
        return header + cipher_text + r_mac

    def unwrap_response(self, state: Scp03tState, tlv: bytes, tag: int = SEGMENT_TAG) -> bytes:
        """Check the R-MAC and decrypt the answer to the command whose state this is."""
        value_offset, length = self._checked_header(tlv, 0, tag, 0, MAC_LENGTH)
        end = value_offset + length
        if end != len(tlv):
            raise ScpError(ScpErrorKind.MALFORMED_TLV, 0, end, "trailing bytes after the TLV")
        cipher_text = tlv[value_offset : end - MAC_LENGTH]
        r_mac = self._mac(self._rmac, state.mcv, tlv[:value_offset], cipher_text)
        if not hmac.compare_digest(r_mac[:MAC_LENGTH], tlv[end - MAC_LENGTH :]):
            raise ScpError(ScpErrorKind.MAC_MISMATCH, 0, end - MAC_LENGTH)
        if not cipher_text:
            return b""
        plain = _unpad(self._decrypt(self._response_icv(state.counter), cipher_text))
        if plain is None:
            raise ScpError(ScpErrorKind.BAD_PADDING, 0, value_offset)
        return plain
