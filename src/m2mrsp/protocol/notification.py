"""ISD-R notifications to the SM-SR (SGP.02 §3.15, §4.1.1.11), PROTOCOL.md §7.6 [N].

``E1 L { 4C EID, 4D 01 type, 4E 02 sequence number, 2F AID of the enabled ISD-P }``; the
optional IMEI and MEID are not modelled (there is no device identity in the simulation).
"""

from __future__ import annotations

from dataclasses import dataclass

from m2mrsp import tlv
from m2mrsp.errors import TlvError, TlvErrorKind

NOTIFICATION_TAG = 0xE1
TAG_EID = 0x4C
TAG_TYPE = 0x4D
TAG_SEQUENCE_NUMBER = 0x4E
TAG_AID = 0x2F

EUICC_DECLARATION = 0x01
PROFILE_CHANGE_SUCCEEDED = 0x02
PROFILE_CHANGE_FAILED = 0x03
PROFILE_CHANGE_AFTER_FALLBACK = 0x05


@dataclass(frozen=True, slots=True)
class Notification:
    """What the ISD-R reports after a profile change."""

    eid: bytes
    kind: int
    sequence_number: int
    enabled_aid: bytes

    def encode(self) -> bytes:
        body = (
            tlv.encode_tlv(TAG_EID, self.eid)
            + tlv.encode_tlv(TAG_TYPE, bytes((self.kind,)))
            + tlv.encode_tlv(TAG_SEQUENCE_NUMBER, self.sequence_number.to_bytes(2, "big"))
            + tlv.encode_tlv(TAG_AID, self.enabled_aid)
        )
        return tlv.encode_tlv(NOTIFICATION_TAG, body)

    @classmethod
    def decode(cls, data: bytes) -> Notification:
        """Parse a notification.

        Raises:
            TlvError: malformed, or a field missing or of the wrong size (offset 0).
        """
        body = tlv.decode_single(data, NOTIFICATION_TAG)
        fields = tlv.decode_fields(body, len(data) - len(body))
        try:
            eid, kind, number, aid = (
                fields[TAG_EID], fields[TAG_TYPE], fields[TAG_SEQUENCE_NUMBER], fields[TAG_AID]
            )
        except KeyError as missing:
            raise TlvError(TlvErrorKind.UNEXPECTED_TAG, 0, f"missing {missing}") from None
        if len(kind) != 1 or len(number) != 2:
            raise TlvError(TlvErrorKind.UNEXPECTED_TAG, 0, "notification type or number size")
        return cls(eid, kind[0], int.from_bytes(number, "big"), aid)
