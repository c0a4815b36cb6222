"""Strict BER-TLV codec (ISO/IEC 8825-1 definite forms, as GlobalPlatform and SAIP use them).

Rules, identical in the native scanner:

* tags take 1 to ``MAX_TAG_OCTETS`` bytes (low five bits ``1F`` announce subsequent bytes,
  bit 8 of each subsequent byte announces one more);
* lengths are definite: one octet below 128, else ``8n`` followed by n (1 to
  ``MAX_LENGTH_OCTETS``) big-endian octets; the indefinite form ``80`` is rejected, and so is
  a non-minimal long form (``81 7F``, ``82 00 FF``), so every accepted encoding re-encodes to
  itself;
* a declared length is compared with the bytes actually left (inside the enclosing value)
  before anything is sliced, so a huge declared length on a short buffer costs nothing.

Error offsets point at the first byte of the bad field: the tag's first byte for tag errors
and nesting depth, the first length octet for length errors and for a value that runs past its
end, the first extra byte for trailing bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from m2mrsp.errors import TlvError, TlvErrorKind

MAX_TAG_OCTETS = 3
MAX_LENGTH_OCTETS = 4
DEFAULT_MAX_DEPTH = 16
_MAX_LENGTH = (1 << (8 * MAX_LENGTH_OCTETS)) - 1

Buffer = bytes | bytearray | memoryview


class TlvItem(NamedTuple):
    """One TLV located in a buffer: its tag and where its header and value lie."""

    tag: int
    offset: int
    value_offset: int
    length: int

    @property
    def end(self) -> int:
        return self.value_offset + self.length

    def value(self, buf: Buffer) -> bytes:
        return bytes(buf[self.value_offset : self.value_offset + self.length])


def read_header(buf: Buffer, pos: int, end: int) -> tuple[int, int, int]:
    """Decode the tag and length of the TLV starting at ``pos``, within ``buf[:end]``.

    Returns:
        ``(tag, value_offset, length)``; the value is known to fit before ``end``.

    Raises:
        TlvError: with the kind and offset rules of this module.
    """
    if pos >= end:
        raise TlvError(TlvErrorKind.TRUNCATED_TAG, pos)
    tag = buf[pos]
    p = pos + 1
    if tag & 0x1F == 0x1F:
        while True:
            if p >= end:
                raise TlvError(TlvErrorKind.TRUNCATED_TAG, pos)
            byte = buf[p]
            p += 1
            tag = (tag << 8) | byte
            if not byte & 0x80:
                break
            if p - pos >= MAX_TAG_OCTETS:
                raise TlvError(TlvErrorKind.TAG_TOO_LONG, pos)

    if p >= end:
        raise TlvError(TlvErrorKind.TRUNCATED_LENGTH, p)
    length_pos = p
    first = buf[p]
    p += 1
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise TlvError(TlvErrorKind.INDEFINITE_LENGTH, length_pos)
    else:
        count = first & 0x7F
        if count > MAX_LENGTH_OCTETS:
            raise TlvError(TlvErrorKind.LENGTH_TOO_LONG, length_pos)
        if count > end - p:
            raise TlvError(TlvErrorKind.TRUNCATED_LENGTH, length_pos)
        length = int.from_bytes(buf[p : p + count], "big")
        if length < 0x80 or buf[p] == 0:
            raise TlvError(TlvErrorKind.NON_MINIMAL_LENGTH, length_pos)
        p += count
    if length > end - p:
        raise TlvError(TlvErrorKind.VALUE_PAST_END, length_pos)
    return tag, p, length


def tag_bytes(tag: int) -> bytes:
    """The on-wire bytes of an integer tag (``0x7F21`` -> ``7F 21``)."""
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")


def is_constructed(tag: int) -> bool:
    """True when the tag's first byte has the constructed bit (``20``) set."""
    return bool(tag_bytes(tag)[0] & 0x20)


def encode_length(length: int) -> bytes:
    """Minimal definite BER length octets for ``length``."""
    if length < 0 or length > _MAX_LENGTH:
        raise ValueError(f"TLV length {length} outside 0..{_MAX_LENGTH}")
    if length < 0x80:
        return bytes((length,))
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def encode_tlv(tag: int, value: Buffer) -> bytes:
    """One TLV: tag bytes, minimal length, value."""
    return tag_bytes(tag) + encode_length(len(value)) + bytes(value)


def iter_tlvs(buf: Buffer, start: int = 0, end: int | None = None) -> Iterator[TlvItem]:
    """Yield the TLVs lying back to back in ``buf[start:end]`` (one level, no recursion)."""
    stop = len(buf) if end is None else end
    pos = start
    while pos < stop:
        tag, value_offset, length = read_header(buf, pos, stop)
        yield TlvItem(tag, pos, value_offset, length)
        pos = value_offset + length


def decode_list(buf: Buffer) -> list[tuple[int, bytes]]:
    """All ``(tag, value)`` pairs of one level of ``buf``."""
    return [(item.tag, item.value(buf)) for item in iter_tlvs(buf)]


def decode_single(buf: Buffer, expected_tag: int | None = None) -> bytes:
    """The value of the one TLV that must fill ``buf`` exactly.

    Raises:
        TlvError: malformed, trailing bytes after it, or (``UNEXPECTED_TAG``, offset 0) when the
            tag is not ``expected_tag``.
    """
    tag, value_offset, length = read_header(buf, 0, len(buf))
    if expected_tag is not None and tag != expected_tag:
        raise TlvError(
            TlvErrorKind.UNEXPECTED_TAG, 0, f"expected {expected_tag:X}, found {tag:X}"
        )
    if value_offset + length != len(buf):
        raise TlvError(TlvErrorKind.TRAILING_BYTES, value_offset + length)
    return bytes(buf[value_offset : value_offset + length])


def decode_fields(buf: Buffer, offset_base: int = 0) -> dict[int, bytes]:
    """One level of TLVs as a tag -> value map; a repeated tag is an error.

    ``offset_base`` is added to reported offsets so that an error inside a nested value points
    into the outer buffer.
    """
    fields: dict[int, bytes] = {}
    try:
        for item in iter_tlvs(buf):
            if item.tag in fields:
                raise TlvError(TlvErrorKind.UNEXPECTED_TAG, item.offset, f"repeated {item.tag:X}")
            fields[item.tag] = item.value(buf)
    except TlvError as err:
        if offset_base:
            raise TlvError(err.kind, err.offset + offset_base, err.detail) from None
        raise
    return fields
