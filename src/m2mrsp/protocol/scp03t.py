"""SCP03t sessions on ES8: the ``84``/``85`` handshake and segment traffic, both sides.

SGP.02 §4.1.3.3 runs a normal SCP03 handshake with the static ISD-P keys, its INITIALIZE UPDATE
and EXTERNAL AUTHENTICATE folded into TLVs (PROTOCOL.md §5.1, §5.5):

* ``84 0A KVN ‖ key-id ‖ host challenge`` -> ``84 20 <INITIALIZE UPDATE response body>``;
* ``85 11 SL ‖ host cryptogram ‖ C-MAC`` -> ``85 00``;
* ``86`` segments (the hot path of :mod:`m2mrsp.hotpath`) -> ``86`` responses with R-MAC;
* errors: ``9F 0x`` (``x`` the low bits of the command tag) with a 2-byte status, no MAC.

[D] choices of PROTOCOL.md §11 behind constants: the key-id byte sent in ``84`` (U2), the
empty ``85`` answer (U3), the error TLV (U5). U5 suggests the tag ``9F ‖ command tag``
(``9F86``), but in BER the ``86`` would announce a third tag byte, so no strict parser could
read it; the error tag keeps the ``9F`` that marks an error and the command tag's number:
``9F04``, ``9F05``, ``9F06``. The security level must be ``33`` (§5.4).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from m2mrsp import tlv
from m2mrsp.crypto import scp03
from m2mrsp.errors import ScpError, ScpErrorKind, TlvError
from m2mrsp.hotpath.types import Backend, Scp03tState, SegmentCipher, WrapResult
from m2mrsp.rng import RandomSource
from m2mrsp.timing import span

INITIALIZE_UPDATE_TAG = 0x84
EXTERNAL_AUTHENTICATE_TAG = 0x85
SEGMENT_TAG = 0x86
ERROR_TAG_PREFIX = 0x9F00
_TAG_NUMBER_MASK = 0x1F
# U2: the APDU form puts key id 00 in P2; Njiwa sends 01. Sent as 00, any value accepted.
INITIALIZE_UPDATE_KEY_ID = 0x00
# U3: the card answers EXTERNAL AUTHENTICATE with an empty 85 TLV.
EXTERNAL_AUTHENTICATE_ANSWER = b"\x85\x00"
# SGP.02 ES8: C-MAC, C-DECRYPTION, R-MAC and R-ENCRYPTION (PROTOCOL.md §5.4).
ES8_SECURITY_LEVEL = 0x33
# i = 70: pseudo-random card challenge, R-MAC and R-ENC support (PROTOCOL.md §5.3).
I_PARAMETER = 0x70
KEY_DIVERSIFICATION_DATA = bytes(10)

STATUS_SECURITY = 0x6982
STATUS_BAD_DATA = 0x6A80
STATUS_WRONG_STATE = 0x6985
_STATUS_BY_KIND = {
    ScpErrorKind.MAC_MISMATCH: STATUS_SECURITY,
    ScpErrorKind.BAD_PADDING: STATUS_SECURITY,
    ScpErrorKind.CRYPTOGRAM_MISMATCH: STATUS_SECURITY,
    ScpErrorKind.SECURITY_LEVEL: STATUS_SECURITY,
    ScpErrorKind.BAD_STATE: STATUS_WRONG_STATE,
}


def error_tlv(command_tag: int, status: int) -> bytes:
    """The SCP03t error answer ``9F 0x 02 status`` (U5 made BER-valid, no MAC)."""
    tag = ERROR_TAG_PREFIX | (command_tag & _TAG_NUMBER_MASK)
    return tlv.encode_tlv(tag, status.to_bytes(2, "big"))


def error_status(kind: ScpErrorKind) -> int:
    """The status an error TLV carries for a failure of this kind."""
    return _STATUS_BY_KIND.get(kind, STATUS_BAD_DATA)


def raise_if_error_tlv(answer: bytes) -> None:
    """Turn a ``9F0x`` answer into :class:`ScpError` (``CARD_ERROR``, status in the text)."""
    if len(answer) >= 2 and answer[0] == 0x9F:
        raise ScpError(ScpErrorKind.CARD_ERROR, detail=f"card answered {answer.hex().upper()}")


@dataclass(frozen=True, slots=True)
class StaticKeys:
    """An ISD-P's SCP03 key set (from key establishment, PROTOCOL.md §4.6 step 5)."""

    kvn: int
    enc: bytes
    mac: bytes
    dek: bytes

    def __repr__(self) -> str:
        return f"StaticKeys(kvn={self.kvn:#04x}, keys hidden)"


class HostSession:
    """The SM-DP side of one SCP03t session."""

    def __init__(self, keys: StaticKeys, sd_aid: bytes, backend: Backend, rng: RandomSource):
        self._keys = keys
        self._sd_aid = sd_aid
        self._backend = backend
        self._rng = rng
        self._host_challenge = b""
        self.session_keys: scp03.SessionKeys | None = None
        self.card_response: scp03.InitializeUpdateResponse | None = None
        self._cipher: SegmentCipher | None = None
        self.state = Scp03tState(scp03.ZERO_MCV, 0)

    def initialize_update(self) -> bytes:
        """The ``84`` command with a fresh host challenge."""
        self._host_challenge = self._rng.bytes(scp03.CHALLENGE_LENGTH)
        value = bytes((self._keys.kvn, INITIALIZE_UPDATE_KEY_ID)) + self._host_challenge
        return tlv.encode_tlv(INITIALIZE_UPDATE_TAG, value)

    @property
    def host_challenge(self) -> bytes:
        return self._host_challenge

    def external_authenticate(self, answer: bytes) -> bytes:
        """Check the card's ``84`` answer and return the ``85`` command.

        Raises:
            ScpError: an error answer, a malformed body, another KVN than the keys', a card
                challenge that is not the pseudo-random one, or a wrong card cryptogram.
        """
        raise_if_error_tlv(answer)
        try:
            body = tlv.decode_single(answer, INITIALIZE_UPDATE_TAG)
        except TlvError as err:
            raise ScpError(ScpErrorKind.MALFORMED_TLV, 0, err.offset, str(err)) from None
        response = scp03.InitializeUpdateResponse.parse(body)
        with span("session keys"):
            self._check_card_challenge(response)
            keys = scp03.SessionKeys.derive(
                self._keys.enc, self._keys.mac, self._host_challenge, response.card_challenge
            )
            scp03.verify_card_cryptogram(
                keys, self._host_challenge, response.card_challenge, response.card_cryptogram
            )
            cryptogram = scp03.host_cryptogram(
                keys.s_mac, self._host_challenge, response.card_challenge
            )
        header = bytes((EXTERNAL_AUTHENTICATE_TAG, 1 + 2 * scp03.MAC_LENGTH))
        message = header + bytes((ES8_SECURITY_LEVEL,)) + cryptogram
        full_mac = scp03.external_authenticate_mac(keys.s_mac, message)
        self.session_keys = keys
        self.card_response = response
        self.state = Scp03tState(full_mac, 0)
        self._cipher = self._backend.SegmentCipher(keys.s_enc, keys.s_mac, keys.s_rmac)
        return message + full_mac[: scp03.MAC_LENGTH]

    def _check_card_challenge(self, response: scp03.InitializeUpdateResponse) -> None:
        if response.kvn != self._keys.kvn:
            raise ScpError(ScpErrorKind.BAD_STATE, detail=f"card answered KVN {response.kvn:02X}")
        if response.sequence_counter is None or response.i_parameter != I_PARAMETER:
            raise ScpError(ScpErrorKind.SECURITY_LEVEL, detail="card does not use i=70")
        expected = scp03.card_challenge(self._keys.enc, response.sequence_counter, self._sd_aid)
        if not hmac.compare_digest(expected, response.card_challenge):
            raise ScpError(ScpErrorKind.CRYPTOGRAM_MISMATCH, detail="card challenge")

    def check_external_authenticate(self, answer: bytes) -> None:
        """Accept only the empty ``85`` answer."""
        raise_if_error_tlv(answer)
        if answer != EXTERNAL_AUTHENTICATE_ANSWER:
            raise ScpError(ScpErrorKind.MALFORMED_TLV, detail="unexpected 85 answer")

    def wrap(self, data: bytes, segment_size: int) -> WrapResult:
        """Protect ``data`` as ``86`` segments; the session state moves past them."""
        result = self._segment_cipher().wrap_all(self.state, data, segment_size, SEGMENT_TAG)
        self.state = result.state
        return result

    def open_response(self, command_state: Scp03tState, answer: bytes) -> bytes:
        """Check and decrypt the card's answer to the segment sent in ``command_state``."""
        raise_if_error_tlv(answer)
        return self._segment_cipher().unwrap_response(command_state, answer, SEGMENT_TAG)

    def _segment_cipher(self) -> SegmentCipher:
        if self._cipher is None:
            raise ScpError(ScpErrorKind.BAD_STATE, detail="no SCP03t session yet")
        return self._cipher


class CardSession:
    """The ISD-P side of SCP03t sessions under its static key set."""

    def __init__(self, keys: StaticKeys, sd_aid: bytes, backend: Backend) -> None:
        self._keys = keys
        self._sd_aid = sd_aid
        self._backend = backend
        self.sequence_counter = 0
        self._pending: tuple[scp03.SessionKeys, bytes, bytes] | None = None
        self._cipher: SegmentCipher | None = None
        self.state: Scp03tState | None = None

    @property
    def open(self) -> bool:
        return self._cipher is not None

    def initialize_update(self, command: bytes) -> bytes:
        """Answer ``84``: new sequence counter, pseudo-random challenge, card cryptogram."""
        value = tlv.decode_single(command, INITIALIZE_UPDATE_TAG)
        if len(value) != 2 + scp03.CHALLENGE_LENGTH or value[0] != self._keys.kvn:
            raise ScpError(ScpErrorKind.BAD_LENGTH, detail="84 value or KVN")
        host_challenge = value[2:]
        self.close()
        self.sequence_counter += 1
        with span("session keys"):
            challenge = scp03.card_challenge(self._keys.enc, self.sequence_counter, self._sd_aid)
            keys = scp03.SessionKeys.derive(
                self._keys.enc, self._keys.mac, host_challenge, challenge
            )
            cryptogram = scp03.card_cryptogram(keys.s_mac, host_challenge, challenge)
        self._pending = (keys, host_challenge, challenge)
        body = scp03.InitializeUpdateResponse(
            KEY_DIVERSIFICATION_DATA, self._keys.kvn, I_PARAMETER, challenge, cryptogram,
            self.sequence_counter,
        ).encode()
        return tlv.encode_tlv(INITIALIZE_UPDATE_TAG, body)

    def external_authenticate(self, command: bytes) -> bytes:
        """Check ``85`` (C-MAC from the zero MCV, host cryptogram, level 33); open the session."""
        if self._pending is None:
            raise ScpError(ScpErrorKind.BAD_STATE, detail="85 without 84")
        keys, host_challenge, challenge = self._pending
        self._pending = None
        value = tlv.decode_single(command, EXTERNAL_AUTHENTICATE_TAG)
        if len(value) != 1 + 2 * scp03.MAC_LENGTH:
            raise ScpError(ScpErrorKind.BAD_LENGTH, detail="85 value")
        full_mac = scp03.external_authenticate_mac(keys.s_mac, command[: -scp03.MAC_LENGTH])
        if not hmac.compare_digest(full_mac[: scp03.MAC_LENGTH], command[-scp03.MAC_LENGTH :]):
            raise ScpError(ScpErrorKind.MAC_MISMATCH, offset=len(command) - scp03.MAC_LENGTH)
        expected = scp03.host_cryptogram(keys.s_mac, host_challenge, challenge)
        if not hmac.compare_digest(expected, value[1 : 1 + scp03.CRYPTOGRAM_LENGTH]):
            raise ScpError(ScpErrorKind.CRYPTOGRAM_MISMATCH, detail="host cryptogram")
        if value[0] != ES8_SECURITY_LEVEL:
            raise ScpError(ScpErrorKind.SECURITY_LEVEL, detail=f"level {value[0]:02X}")
        self._cipher = self._backend.SegmentCipher(keys.s_enc, keys.s_mac, keys.s_rmac)
        self.state = Scp03tState(full_mac, 0)
        return EXTERNAL_AUTHENTICATE_ANSWER

    def unwrap(self, segment: bytes) -> tuple[bytes, Scp03tState]:
        """Check and decrypt one ``86`` segment; returns the plaintext and its command state."""
        if self._cipher is None or self.state is None:
            raise ScpError(ScpErrorKind.BAD_STATE, detail="86 outside a session")
        plain, self.state = self._cipher.unwrap_segment(self.state, segment)
        return plain, self.state

    def answer(self, command_state: Scp03tState, data: bytes) -> bytes:
        """The R-ENC/R-MAC answer to the segment that left ``command_state``."""
        if self._cipher is None:
            raise ScpError(ScpErrorKind.BAD_STATE, detail="answer outside a session")
        return self._cipher.wrap_response(command_state, data)

    def close(self) -> None:
        """End the session: session keys dropped, further segments refused."""
        self._cipher = None
        self.state = None
        self._pending = None
