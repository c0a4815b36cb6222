"""GlobalPlatform SCP03 (Card Spec Amendment D) on AES-128, as SGP.02 uses it.

Covers the handshake material (PROTOCOL.md §5.2-5.3): the counter-mode KDF with AES-CMAC as PRF
in GP's field order, session keys, card and host cryptograms, the pseudo-random card challenge,
key check values, the INITIALIZE UPDATE command and response; and secure messaging on short
command APDUs (PROTOCOL.md §5.4-5.8): C-MAC with the MAC chaining value, C-DECRYPTION with the
counter-derived ICV, R-MAC and R-ENCRYPTION. The SCP03t TLV form lives in
:mod:`m2mrsp.hotpath`; :func:`external_authenticate_mac`, :func:`command_icv`,
:func:`response_icv`, :func:`pad` and :func:`unpad` are the building blocks it shares.

Known limitations: AES-128 static keys only (no AES-192/256 key sets); S8 mode only (8-byte
challenges, cryptograms and MACs; S16 is refused); short APDUs only (no extended Lc/Le).
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from m2mrsp.crypto.cmac import AES_BLOCK, CmacKey, aes_cmac
from m2mrsp.errors import ScpError, ScpErrorKind

_log = logging.getLogger(__name__)

KEY_LENGTH = 16
CHALLENGE_LENGTH = 8
CRYPTOGRAM_LENGTH = 8
MAC_LENGTH = 8
SEQUENCE_COUNTER_LENGTH = 3
ZERO_MCV = bytes(AES_BLOCK)

# KDF derivation constants (GP Amd D §4.1.5; PROTOCOL.md §5.2).
DERIVE_CARD_CRYPTOGRAM = 0x00
DERIVE_HOST_CRYPTOGRAM = 0x01
DERIVE_CARD_CHALLENGE = 0x02
DERIVE_S_ENC = 0x04
DERIVE_S_MAC = 0x06
DERIVE_S_RMAC = 0x07
_LABEL_PREFIX = bytes(11)
_SEPARATION_INDICATOR = b"\x00"
_MAX_KDF_BLOCKS = 255

# Security level bits, EXTERNAL AUTHENTICATE P1 (GP Amd D §7.1.2.1; PROTOCOL.md §5.4).
LEVEL_C_MAC = 0x01
LEVEL_C_DECRYPTION = 0x02
LEVEL_R_MAC = 0x10
LEVEL_R_ENCRYPTION = 0x20
# The combinations GP Amd D defines: C-MAC always, R-ENC only together with C-DECRYPTION.
SECURITY_LEVELS = frozenset({0x01, 0x03, 0x11, 0x13, 0x33})
SGP02_SECURITY_LEVEL = 0x33

# INITIALIZE UPDATE response (PROTOCOL.md §5.3).
SCP03_IDENTIFIER = 0x03
I_S16_MODE = 0x01
I_PSEUDO_RANDOM_CHALLENGE = 0x10
I_R_MAC_SUPPORT = 0x20
I_R_ENC_SUPPORT = 0x40
KEY_DIVERSIFICATION_LENGTH = 10
INIT_UPDATE_RESPONSE_LENGTH = 29

# APDU coding (GP Card Spec §11; ISO 7816-4 §5.4.1 for the secure-messaging class bit).
CLA_GP = 0x80
INS_INITIALIZE_UPDATE = 0x50
INS_EXTERNAL_AUTHENTICATE = 0x82
SM_BIT_FIRST_INTERINDUSTRY = 0x04
SM_BIT_FURTHER_INTERINDUSTRY = 0x20
FURTHER_INTERINDUSTRY_BIT = 0x40
MAX_SHORT_LC = 255
_HEADER = 4
_LC = 4
SW_SUCCESS = 0x9000
_WARNING_SW1 = frozenset({0x62, 0x63})

KCV_LENGTH = 3
_KCV_INPUT = b"\x01" * AES_BLOCK
PAD_MARKER = 0x80
_R_ICV_PREFIX = b"\x80"


def _need(name: str, value: bytes, length: int) -> None:
    if len(value) != length:
        raise ValueError(f"{name} must be {length} bytes, not {len(value)}")


def scp03_kdf(key: bytes, constant: int, context: bytes, bits: int) -> bytes:
    """GP SCP03 KDF (NIST SP 800-108 counter mode, AES-CMAC PRF, GP Amd D §4.1.5 order).

    Each block is ``AES-CMAC(key, 11×00 ‖ constant ‖ 00 ‖ L(2) ‖ i(1) ‖ context)``.

    Args:
        key: the AES key to derive from.
        constant: the derivation constant (one of the ``DERIVE_*`` values).
        context: the context octets (challenges, or sequence counter ‖ AID).
        bits: output length ``L`` in bits, a positive multiple of 8.

    Raises:
        ValueError: ``constant`` not one byte, or ``bits`` not a usable length.
    """
    if not 0 <= constant <= 0xFF:
        raise ValueError(f"derivation constant must be one byte, not {constant}")
    blocks = -(-bits // (8 * AES_BLOCK))
    if bits <= 0 or bits % 8 or blocks > _MAX_KDF_BLOCKS:
        raise ValueError(f"KDF output length {bits} bits is not supported")
    prf = CmacKey(key)
    fixed = _LABEL_PREFIX + bytes([constant]) + _SEPARATION_INDICATOR + bits.to_bytes(2, "big")
    output = b"".join(prf.mac(fixed, bytes([i]), context) for i in range(1, blocks + 1))
    return output[: bits // 8]


@dataclass(frozen=True, slots=True)
class SessionKeys:
    """The three SCP03 session keys of one secure channel (PROTOCOL.md §5.2).

    The repr hides the key bytes so a logged object leaks nothing.
    """

    s_enc: bytes = field(repr=False)
    s_mac: bytes = field(repr=False)
    s_rmac: bytes = field(repr=False)

    @classmethod
    def derive(
        cls, key_enc: bytes, key_mac: bytes, host_challenge: bytes, card_challenge: bytes
    ) -> SessionKeys:
        """Derive S-ENC, S-MAC and S-RMAC from the static keys and both challenges.

        Raises:
            ValueError: a key is not 16 bytes or a challenge not 8 bytes.
        """
        context = _challenges(host_challenge, card_challenge)
        _need("Key-ENC", key_enc, KEY_LENGTH)
        _need("Key-MAC", key_mac, KEY_LENGTH)
        bits = 8 * KEY_LENGTH
        return cls(
            s_enc=scp03_kdf(key_enc, DERIVE_S_ENC, context, bits),
            s_mac=scp03_kdf(key_mac, DERIVE_S_MAC, context, bits),
            s_rmac=scp03_kdf(key_mac, DERIVE_S_RMAC, context, bits),
        )


def _challenges(host_challenge: bytes, card_challenge: bytes) -> bytes:
    _need("host challenge", host_challenge, CHALLENGE_LENGTH)
    _need("card challenge", card_challenge, CHALLENGE_LENGTH)
    return host_challenge + card_challenge


def card_challenge(key_enc: bytes, sequence_counter: int, sd_aid: bytes) -> bytes:
    """The pseudo-random card challenge: ``KDF(Key-ENC, 02, counter(3) ‖ SD AID, 64)``.

    Raises:
        ValueError: wrong key size or a counter that does not fit three bytes.
    """
    _need("Key-ENC", key_enc, KEY_LENGTH)
    if not 0 <= sequence_counter < 1 << (8 * SEQUENCE_COUNTER_LENGTH):
        raise ValueError(f"sequence counter {sequence_counter} does not fit 3 bytes")
    context = sequence_counter.to_bytes(SEQUENCE_COUNTER_LENGTH, "big") + sd_aid
    return scp03_kdf(key_enc, DERIVE_CARD_CHALLENGE, context, 8 * CHALLENGE_LENGTH)


def card_cryptogram(s_mac: bytes, host_challenge: bytes, card_challenge: bytes) -> bytes:
    """The card cryptogram: ``KDF(S-MAC, 00, host challenge ‖ card challenge, 64)``."""
    context = _challenges(host_challenge, card_challenge)
    return scp03_kdf(s_mac, DERIVE_CARD_CRYPTOGRAM, context, 8 * CRYPTOGRAM_LENGTH)


def host_cryptogram(s_mac: bytes, host_challenge: bytes, card_challenge: bytes) -> bytes:
    """The host cryptogram: ``KDF(S-MAC, 01, host challenge ‖ card challenge, 64)``."""
    context = _challenges(host_challenge, card_challenge)
    return scp03_kdf(s_mac, DERIVE_HOST_CRYPTOGRAM, context, 8 * CRYPTOGRAM_LENGTH)


def verify_card_cryptogram(
    keys: SessionKeys, host_challenge: bytes, card_challenge: bytes, cryptogram: bytes
) -> None:
    """Host side: check the card cryptogram of an INITIALIZE UPDATE response.

    Raises:
        ScpError: ``CRYPTOGRAM_MISMATCH`` (the card does not hold the same static keys).
    """
    expected = card_cryptogram(keys.s_mac, host_challenge, card_challenge)
    if not hmac.compare_digest(expected, cryptogram):
        raise ScpError(ScpErrorKind.CRYPTOGRAM_MISMATCH, detail="card cryptogram")


def key_check_value(key: bytes) -> bytes:
    """The 3-byte AES key check value: ``AES-ECB(key, 16 × 01)[0:3]`` (GP Card Spec)."""
    return _ecb(key, _KCV_INPUT)[:KCV_LENGTH]


def initialize_update_command(kvn: int, host_challenge: bytes) -> bytes:
    """The INITIALIZE UPDATE APDU ``80 50 KVN 00 08 ‖ host challenge ‖ 00``.

    Raises:
        ValueError: KVN not one byte or a host challenge not 8 bytes.
    """
    if not 0 <= kvn <= 0xFF:
        raise ValueError(f"KVN must be one byte, not {kvn}")
    _need("host challenge", host_challenge, CHALLENGE_LENGTH)
    header = bytes([CLA_GP, INS_INITIALIZE_UPDATE, kvn, 0x00, CHALLENGE_LENGTH])
    return header + host_challenge + b"\x00"


@dataclass(frozen=True, slots=True)
class InitializeUpdateResponse:
    """The INITIALIZE UPDATE response body (PROTOCOL.md §5.3), also the ``84`` TLV value."""

    key_diversification_data: bytes
    kvn: int
    i_parameter: int
    card_challenge: bytes
    card_cryptogram: bytes
    sequence_counter: int | None

    @classmethod
    def parse(cls, body: bytes) -> InitializeUpdateResponse:
        """Decode a 29- or 32-byte body (the status word already removed).

        Raises:
            ScpError: ``BAD_LENGTH`` for a size that does not match the ``i`` parameter;
                ``SECURITY_LEVEL`` for a protocol other than SCP03 or S16 mode.
        """
        if len(body) < INIT_UPDATE_RESPONSE_LENGTH:
            raise ScpError(ScpErrorKind.BAD_LENGTH, offset=len(body), detail="short response")
        pos = KEY_DIVERSIFICATION_LENGTH
        kvn, scp, i_param = body[pos], body[pos + 1], body[pos + 2]
        if scp != SCP03_IDENTIFIER:
            raise ScpError(ScpErrorKind.SECURITY_LEVEL, offset=pos + 1, detail=f"SCP {scp:02X}")
        if i_param & I_S16_MODE:
            raise ScpError(ScpErrorKind.SECURITY_LEVEL, offset=pos + 2, detail="S16 mode")
        has_counter = bool(i_param & I_PSEUDO_RANDOM_CHALLENGE)
        expected = INIT_UPDATE_RESPONSE_LENGTH + SEQUENCE_COUNTER_LENGTH * has_counter
        if len(body) != expected:
            raise ScpError(ScpErrorKind.BAD_LENGTH, offset=min(len(body), expected))
        challenge = pos + 3
        cryptogram = challenge + CHALLENGE_LENGTH
        end = cryptogram + CRYPTOGRAM_LENGTH
        counter = int.from_bytes(body[end:], "big") if has_counter else None
        return cls(
            body[:pos], kvn, i_param, body[challenge:cryptogram], body[cryptogram:end], counter
        )

    def encode(self) -> bytes:
        """The body bytes (card side)."""
        counter = b""
        if self.sequence_counter is not None:
            counter = self.sequence_counter.to_bytes(SEQUENCE_COUNTER_LENGTH, "big")
        head = bytes([self.kvn, SCP03_IDENTIFIER, self.i_parameter])
        return (
            self.key_diversification_data
            + head
            + self.card_challenge
            + self.card_cryptogram
            + counter
        )


def external_authenticate_mac(s_mac: bytes, message: bytes) -> bytes:
    """The full 16-byte C-MAC of an EXTERNAL AUTHENTICATE, chained from the zero MCV.

    ``message`` is what precedes the MAC: ``84 82 SL 00 10 ‖ host cryptogram`` for the APDU,
    ``85 11 ‖ SL ‖ host cryptogram`` for the SCP03t TLV. The result is the MCV afterwards;
    its first 8 bytes go on the wire.
    """
    return aes_cmac(s_mac, ZERO_MCV + message)


def command_icv(s_enc: bytes, counter: int) -> bytes:
    """C-ENC ICV: ``AES-ECB(S-ENC, counter as a 16-byte big-endian block)`` (§5.7)."""
    return _ecb(s_enc, counter.to_bytes(AES_BLOCK, "big"))


def response_icv(s_enc: bytes, counter: int) -> bytes:
    """R-ENC ICV: ``AES-ECB(S-ENC, 80 ‖ counter as 15 bytes)`` (§5.8)."""
    return _ecb(s_enc, _R_ICV_PREFIX + counter.to_bytes(AES_BLOCK - 1, "big"))


def pad(data: bytes) -> bytes:
    """ISO 9797-1 method 2 padding: ``data ‖ 80 ‖ 00…`` to a block multiple (1-16 bytes)."""
    return data + bytes([PAD_MARKER]) + bytes(-(len(data) + 1) % AES_BLOCK)


def unpad(padded: bytes, offset: int = 0) -> bytes:
    """Strip ISO 9797-1 method 2 padding.

    Args:
        padded: the decrypted blocks.
        offset: where ``padded``'s cipher text starts in the caller's buffer (for the error).

    Raises:
        ScpError: ``BAD_PADDING`` unless the data ends in ``80`` followed by 0-15 zeros.
    """
    stripped = padded.rstrip(b"\x00")
    if not stripped or stripped[-1] != PAD_MARKER or len(padded) - len(stripped) >= AES_BLOCK:
        raise ScpError(ScpErrorKind.BAD_PADDING, offset=offset)
    return stripped[:-1]


def _ecb(key: bytes, block: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return encryptor.update(block) + encryptor.finalize()


def _cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(pad(data)) + encryptor.finalize()


def _cbc_decrypt(key: bytes, iv: bytes, data: bytes, offset: int) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return unpad(decryptor.update(data) + decryptor.finalize(), offset)


def _sm_class(cla: int) -> int:
    if cla & FURTHER_INTERINDUSTRY_BIT:
        return cla | SM_BIT_FURTHER_INTERINDUSTRY
    return cla | SM_BIT_FIRST_INTERINDUSTRY


def _plain_class(cla: int) -> int:
    if cla & FURTHER_INTERINDUSTRY_BIT:
        return cla & ~SM_BIT_FURTHER_INTERINDUSTRY
    return cla & ~SM_BIT_FIRST_INTERINDUSTRY


def _sw_is_protected(sw: int) -> bool:
    return sw == SW_SUCCESS or (sw >> 8) in _WARNING_SW1


@dataclass(frozen=True, slots=True)
class _Apdu:
    """A short command APDU split into header (4 bytes), data field and Le (0 or 1 byte)."""

    header: bytes
    data: bytes
    le: bytes


def _split_apdu(apdu: bytes) -> _Apdu:
    if len(apdu) < _HEADER:
        raise ScpError(ScpErrorKind.BAD_LENGTH, offset=len(apdu), detail="APDU header")
    header = apdu[:_HEADER]
    if len(apdu) <= _HEADER + 1:
        return _Apdu(header, b"", apdu[_HEADER:])
    lc, body = apdu[_LC], apdu[_LC + 1 :]
    if lc == 0 or len(body) not in (lc, lc + 1):
        raise ScpError(ScpErrorKind.BAD_LENGTH, offset=_LC, detail="Lc disagrees with APDU")
    return _Apdu(header, body[:lc], body[lc:])


class ApduChannel:
    """SCP03 secure messaging on short APDUs, usable by the host or by the card.

    The host calls :meth:`external_authenticate`, then :meth:`wrap_command` and
    :meth:`unwrap_response` per command; the card calls :meth:`accept_external_authenticate`,
    then :meth:`unwrap_command` and :meth:`wrap_response`. State (MCV, counter) moves only when
    a call succeeds (PROTOCOL.md §5.6-5.8, GP Amd D §6.2.4-6.2.7).
    """

    def __init__(self, keys: SessionKeys) -> None:
        _need("S-ENC", keys.s_enc, KEY_LENGTH)
        self._s_enc = keys.s_enc
        self._s_mac = CmacKey(keys.s_mac)
        self._s_rmac = CmacKey(keys.s_rmac)
        self._level: int | None = None
        self._mcv = ZERO_MCV
        self._counter = 0

    @property
    def security_level(self) -> int | None:
        """The level set by EXTERNAL AUTHENTICATE, ``None`` before it."""
        return self._level

    @property
    def mcv(self) -> bytes:
        """The MAC chaining value: the full C-MAC of the last protected command."""
        return self._mcv

    @property
    def counter(self) -> int:
        """The encryption counter of the last protected command (0 after authentication)."""
        return self._counter

    def external_authenticate(self, security_level: int, host_cryptogram: bytes) -> bytes:
        """Host side: build ``84 82 SL 00 10 ‖ host cryptogram ‖ C-MAC`` and open the session.

        Raises:
            ScpError: ``SECURITY_LEVEL`` for a level SCP03 does not define.
            ValueError: a host cryptogram that is not 8 bytes.
        """
        if security_level not in SECURITY_LEVELS:
            raise ScpError(ScpErrorKind.SECURITY_LEVEL, offset=2, detail=f"{security_level:02X}")
        _need("host cryptogram", host_cryptogram, CRYPTOGRAM_LENGTH)
        message = self._ext_auth_header(security_level) + host_cryptogram
        full = self._s_mac.mac(ZERO_MCV, message)
        self._open(security_level, full)
        return message + full[:MAC_LENGTH]

    def accept_external_authenticate(self, apdu: bytes, expected_host_cryptogram: bytes) -> int:
        """Card side: check an EXTERNAL AUTHENTICATE and open the session at its level.

        Returns:
            the security level (P1).

        Raises:
            ScpError: ``BAD_LENGTH``/``WRONG_TAG`` for a malformed or different command,
                ``MAC_MISMATCH``, ``SECURITY_LEVEL`` or ``CRYPTOGRAM_MISMATCH``.
        """
        size = _HEADER + 1 + CRYPTOGRAM_LENGTH + MAC_LENGTH
        if len(apdu) != size:
            raise ScpError(ScpErrorKind.BAD_LENGTH, offset=min(len(apdu), size))
        level = apdu[2]
        message, mac = apdu[:-MAC_LENGTH], apdu[-MAC_LENGTH:]
        if message[: _HEADER + 1] != self._ext_auth_header(level):
            raise ScpError(ScpErrorKind.WRONG_TAG, detail="not EXTERNAL AUTHENTICATE")
        full = self._s_mac.mac(ZERO_MCV, message)
        if not hmac.compare_digest(full[:MAC_LENGTH], mac):
            raise ScpError(ScpErrorKind.MAC_MISMATCH, offset=size - MAC_LENGTH)
        if level not in SECURITY_LEVELS:
            raise ScpError(ScpErrorKind.SECURITY_LEVEL, offset=2, detail=f"{level:02X}")
        if not hmac.compare_digest(message[_HEADER + 1 :], expected_host_cryptogram):
            raise ScpError(ScpErrorKind.CRYPTOGRAM_MISMATCH, offset=_HEADER + 1)
        self._open(level, full)
        return level

    def wrap_command(self, apdu: bytes) -> bytes:
        """Host side: protect a plain short C-APDU (C-ENC if the level says so, then C-MAC).

        The counter advances for every command, data-less ones included (§5.7).

        Raises:
            ScpError: ``BAD_STATE`` before authentication; ``BAD_LENGTH`` for a malformed APDU
                or one whose protected data field would not fit a short Lc.
        """
        level = self._require_level()
        parts = _split_apdu(apdu)
        counter = self._counter + 1
        data = parts.data
        if level & LEVEL_C_DECRYPTION and data:
            data = _cbc_encrypt(self._s_enc, command_icv(self._s_enc, counter), data)
        lc = len(data) + MAC_LENGTH
        if lc > MAX_SHORT_LC:
            raise ScpError(ScpErrorKind.BAD_LENGTH, offset=_LC, detail="too long to protect")
        header = bytes([_sm_class(parts.header[0])]) + parts.header[1:] + bytes([lc])
        full = self._s_mac.mac(self._mcv, header, data)
        self._mcv, self._counter = full, counter
        _log.debug("wrapped INS %02X, counter %d, Lc %d", parts.header[1], counter, lc)
        return header + data + full[:MAC_LENGTH] + parts.le

    def unwrap_command(self, apdu: bytes) -> bytes:
        """Card side: check the C-MAC of a protected C-APDU and decrypt its data field.

        Returns:
            the plain APDU (class byte without the secure-messaging bit).

        Raises:
            ScpError: ``BAD_STATE`` before authentication; ``BAD_LENGTH`` (malformed, no room
                for a MAC, cipher text not whole blocks); ``SECURITY_LEVEL`` (no SM bit);
                ``MAC_MISMATCH``; ``BAD_PADDING``.
        """
        level = self._require_level()
        parts = _split_apdu(apdu)
        if parts.header[0] == _plain_class(parts.header[0]):
            raise ScpError(ScpErrorKind.SECURITY_LEVEL, detail="command not protected")
        if len(parts.data) < MAC_LENGTH:
            raise ScpError(ScpErrorKind.BAD_LENGTH, offset=_LC, detail="no room for C-MAC")
        data, mac = parts.data[:-MAC_LENGTH], parts.data[-MAC_LENGTH:]
        encrypted = bool(level & LEVEL_C_DECRYPTION and data)
        if encrypted and len(data) % AES_BLOCK:
            raise ScpError(ScpErrorKind.BAD_LENGTH, offset=_LC, detail="partial block")
        full = self._s_mac.mac(self._mcv, apdu[: _LC + 1], data)
        if not hmac.compare_digest(full[:MAC_LENGTH], mac):
            raise ScpError(ScpErrorKind.MAC_MISMATCH, offset=_LC + 1 + len(data))
        counter = self._counter + 1
        if encrypted:
            icv = command_icv(self._s_enc, counter)
            data = _cbc_decrypt(self._s_enc, icv, data, _LC + 1)
        self._mcv, self._counter = full, counter
        header = bytes([_plain_class(parts.header[0])]) + parts.header[1:]
        return header + (bytes([len(data)]) + data if data else b"") + parts.le

    def wrap_response(self, data: bytes, sw: int) -> bytes:
        """Card side: protect the response to the last command (R-ENC, R-MAC) and add SW.

        An error status word (not ``9000``/``62xx``/``63xx``) goes out bare with ``data``.

        Raises:
            ScpError: ``BAD_STATE`` before authentication.
        """
        level = self._require_level()
        status = sw.to_bytes(2, "big")
        if not _sw_is_protected(sw):
            return data + status
        body = data
        if level & LEVEL_R_ENCRYPTION and data:
            body = _cbc_encrypt(self._s_enc, response_icv(self._s_enc, self._counter), data)
        if level & LEVEL_R_MAC:
            body += self._s_rmac.mac(self._mcv, body, status)[:MAC_LENGTH]
        return body + status

    def unwrap_response(self, response: bytes) -> tuple[bytes, int]:
        """Host side: verify the R-MAC of a R-APDU and decrypt its data (PROTOCOL.md §5.8).

        Returns:
            ``(plain data, status word)``; an error status word comes back unchecked.

        Raises:
            ScpError: ``BAD_STATE`` before authentication; ``BAD_LENGTH`` (no status word, no
                room for the R-MAC, cipher text not whole blocks); ``MAC_MISMATCH``;
                ``BAD_PADDING``.
        """
        level = self._require_level()
        if len(response) < 2:
            raise ScpError(ScpErrorKind.BAD_LENGTH, detail="no status word")
        body, status = response[:-2], response[-2:]
        sw = int.from_bytes(status, "big")
        if not _sw_is_protected(sw):
            return body, sw
        if level & LEVEL_R_MAC:
            body = self._check_r_mac(body, status)
        if level & LEVEL_R_ENCRYPTION and body:
            if len(body) % AES_BLOCK:
                raise ScpError(ScpErrorKind.BAD_LENGTH, detail="partial block")
            body = _cbc_decrypt(self._s_enc, response_icv(self._s_enc, self._counter), body, 0)
        return body, sw

    def _check_r_mac(self, body: bytes, status: bytes) -> bytes:
        if len(body) < MAC_LENGTH:
            raise ScpError(ScpErrorKind.BAD_LENGTH, detail="no room for R-MAC")
        data, mac = body[:-MAC_LENGTH], body[-MAC_LENGTH:]
        expected = self._s_rmac.mac(self._mcv, data, status)[:MAC_LENGTH]
        if not hmac.compare_digest(expected, mac):
            raise ScpError(ScpErrorKind.MAC_MISMATCH, offset=len(data))
        return data

    @staticmethod
    def _ext_auth_header(level: int) -> bytes:
        cla = _sm_class(CLA_GP)
        return bytes([cla, INS_EXTERNAL_AUTHENTICATE, level, 0x00, 2 * CRYPTOGRAM_LENGTH])

    def _open(self, level: int, mcv: bytes) -> None:
        self._level, self._mcv, self._counter = level, mcv, 0
        _log.debug("SCP03 session opened at security level %02X", level)

    def _require_level(self) -> int:
        if self._level is None:
            raise ScpError(ScpErrorKind.BAD_STATE, detail="no EXTERNAL AUTHENTICATE yet")
        return self._level
