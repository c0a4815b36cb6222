"""ES5 remote-management scripts (ETSI TS 102 226 expanded format), PROTOCOL.md §2.2.

A command script is ``AA L { item }*``. An item is either ``22 L C-APDU`` or, for ES8 traffic
protected by SCP03t, the SCP03t TLV itself (``84``/``85``/``86``): the [D] choice of §2.2. The
card answers with ``AB L { 80 n  item }*`` where ``n`` counts the executed commands and each
item is ``23 L R-APDU`` or the SCP03t response TLV. Execution stops at the first failing
command, whose answer is the last item.
"""

from __future__ import annotations

from m2mrsp import tlv
from m2mrsp.errors import TlvError, TlvErrorKind

COMMAND_SCRIPT = 0xAA
RESPONSE_SCRIPT = 0xAB
C_APDU = 0x22
R_APDU = 0x23
EXECUTED_COUNT = 0x80
# SCP03t command and response tags carried as they are (§5.5), and their error TLVs
# (m2mrsp.protocol.scp03t.error_tlv).
SCP03T_TAGS = frozenset({0x84, 0x85, 0x86, 0x9F04, 0x9F05, 0x9F06})


def command_item(apdu: bytes) -> bytes:
    """One C-APDU as a script item."""
    return tlv.encode_tlv(C_APDU, apdu)


def build_command_script(items: list[bytes]) -> bytes:
    """``AA`` around already-encoded items (``22`` APDUs or SCP03t TLVs)."""
    return tlv.encode_tlv(COMMAND_SCRIPT, b"".join(items))


def parse_command_script(script: bytes) -> list[tuple[int, bytes]]:
    """The items of a command script: ``(22, apdu)`` or ``(tag, whole SCP03t TLV)``.

    Raises:
        TlvError: malformed, not an ``AA`` script, or an item that is neither kind.
    """
    _, entries = _contents(script, COMMAND_SCRIPT)
    return [_item(script, item, C_APDU) for item in entries]


def _contents(script: bytes, tag: int) -> tuple[int, list[tlv.TlvItem]]:
    """Where the value of the ``tag`` TLV filling ``script`` starts, and the TLVs inside it."""
    value_offset = len(script) - len(tlv.decode_single(script, tag))
    return value_offset, list(tlv.iter_tlvs(script, value_offset))


def _item(script: bytes, item: tlv.TlvItem, apdu_tag: int) -> tuple[int, bytes]:
    if item.tag == apdu_tag:
        return apdu_tag, item.value(script)
    if item.tag in SCP03T_TAGS:
        return item.tag, script[item.offset : item.end]
    raise TlvError(TlvErrorKind.UNEXPECTED_TAG, item.offset, f"item {item.tag:X}")


def build_response_script(items: list[bytes]) -> bytes:
    """``AB`` with the executed count and the already-encoded response items."""
    count = len(items).to_bytes(max(1, (len(items).bit_length() + 7) // 8), "big")
    return tlv.encode_tlv(RESPONSE_SCRIPT, tlv.encode_tlv(EXECUTED_COUNT, count) + b"".join(items))


def response_item(rapdu: bytes) -> bytes:
    """One R-APDU (data ‖ SW1 SW2) as a response item."""
    return tlv.encode_tlv(R_APDU, rapdu)


def parse_response_script(script: bytes) -> list[tuple[int, bytes]]:
    """The response items, checked against the executed count.

    Returns:
        ``(23, R-APDU)`` or ``(tag, whole SCP03t TLV)`` per executed command.
    """
    start, entries = _contents(script, RESPONSE_SCRIPT)
    if not entries or entries[0].tag != EXECUTED_COUNT or entries[0].length == 0:
        raise TlvError(TlvErrorKind.UNEXPECTED_TAG, start, "response script without count")
    count = int.from_bytes(entries[0].value(script), "big")
    items = [_item(script, item, R_APDU) for item in entries[1:]]
    if count != len(items):
        raise TlvError(
            TlvErrorKind.UNEXPECTED_TAG, start, f"count {count} but {len(items)} responses"
        )
    return items


# [D] The SCP81 header X-Admin-Targeted-Application (or the SCP80 TAR) names the security
# domain a script is for; here it travels as a 4F TLV in front of the script.
TARGET_AID = 0x4F
# [D] The SMS push that makes the card open its admin session is modelled as an empty command
# script; the card answers it with its oldest pending notification (or an empty response).
PUSH = build_command_script([])


def frame(target_aid: bytes, script: bytes) -> bytes:
    """An ES5 message: the targeted security domain's AID, then the script."""
    return tlv.encode_tlv(TARGET_AID, target_aid) + script


def parse_frame(message: bytes) -> tuple[bytes, bytes]:
    """``(target AID, script)`` of an ES5 message.

    Raises:
        TlvError: no leading ``4F`` or a malformed one.
    """
    tag, value_offset, length = tlv.read_header(message, 0, len(message))
    if tag != TARGET_AID:
        raise TlvError(TlvErrorKind.UNEXPECTED_TAG, 0, "ES5 message without target AID")
    end = value_offset + length
    return bytes(message[value_offset:end]), bytes(message[end:])
