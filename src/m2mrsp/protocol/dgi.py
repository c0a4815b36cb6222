"""GlobalPlatform Data Grouping Identifiers (DGI), as carried by STORE DATA (GP 2.3 §11.11).

A DGI is a 2-byte tag, a length and a value. The GP length is one byte for 0..254, else ``FF``
followed by two big-endian bytes (PROTOCOL.md §4.4). Njiwa writes BER lengths instead
(``81 xx`` / ``82 xx xx``), which differ once a value exceeds 127 bytes.

Decoding rule ([D], PROTOCOL.md §4.4 and §11 U6, behind :data:`ACCEPT_BER_LENGTHS`): a length
byte ``81`` or ``82`` is ambiguous (GP: a 129- or 130-byte value; BER: one or two length bytes
follow). The decoder keeps the GP reading whenever the whole buffer then parses as DGIs back to
back, and takes the BER reading (minimal, fitting) only when it alone leads to a complete parse.
Encoding always uses the GP coding.

Errors are :class:`~m2mrsp.errors.TlvError` with the offset rules of :mod:`m2mrsp.tlv`: the
tag's first byte for a truncated tag, the first length byte for length problems and for a
value running past the end, the first extra byte for trailing bytes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Final, NamedTuple

from m2mrsp.errors import TlvError, TlvErrorKind

Buffer = bytes | bytearray | memoryview

DGI_TAG_LENGTH: Final = 2
SHORT_LENGTH_MAX: Final = 0xFE
LONG_LENGTH_MARKER: Final = 0xFF
LONG_LENGTH_MAX: Final = 0xFFFF
# [D] PROTOCOL.md §4.4: the card side also accepts Njiwa's BER lengths.
ACCEPT_BER_LENGTHS: Final = True
_BER_ONE_BYTE: Final = 0x81
_BER_TWO_BYTES: Final = 0x82


class DgiItem(NamedTuple):
    """One DGI located in a buffer: its tag, where its header and value lie, its length coding."""

    tag: int
    offset: int
    value_offset: int
    length: int
    ber_length: bool = False

    @property
    def end(self) -> int:
        return self.value_offset + self.length

    def value(self, buf: Buffer) -> bytes:
        return bytes(buf[self.value_offset : self.end])

    def raw(self, buf: Buffer) -> bytes:
        """The DGI's bytes exactly as they stand in ``buf`` (header included)."""
        return bytes(buf[self.offset : self.end])


def encode_dgi_length(length: int) -> bytes:
    """GP DGI length octets: one byte for 0..254, else ``FF`` ‖ two bytes.

    Raises:
        ValueError: ``length`` outside 0..65535.
    """
    if 0 <= length <= SHORT_LENGTH_MAX:
        return bytes((length,))
    if SHORT_LENGTH_MAX < length <= LONG_LENGTH_MAX:
        return bytes((LONG_LENGTH_MARKER,)) + length.to_bytes(2, "big")
    raise ValueError(f"DGI length {length} outside 0..{LONG_LENGTH_MAX}")


def encode_dgi(tag: int, value: Buffer) -> bytes:
    """One DGI in GP coding: 2-byte tag, length, value.

    Raises:
        ValueError: tag outside 0..FFFF or value longer than 65535 bytes.
    """
    if not 0 <= tag <= 0xFFFF:
        raise ValueError(f"DGI tag {tag:X} is not two bytes")
    return tag.to_bytes(DGI_TAG_LENGTH, "big") + encode_dgi_length(len(value)) + bytes(value)


def read_dgi_header(buf: Buffer, pos: int, end: int) -> DgiItem:
    """Decode the GP-coded DGI starting at ``pos`` within ``buf[:end]``.

    Raises:
        TlvError: truncated tag or length, non-minimal ``FF`` length, value past ``end``.
    """
    if end - pos < DGI_TAG_LENGTH:
        raise TlvError(TlvErrorKind.TRUNCATED_TAG, pos, "DGI tag needs two bytes")
    tag = int.from_bytes(buf[pos : pos + DGI_TAG_LENGTH], "big")
    length_pos = pos + DGI_TAG_LENGTH
    if length_pos >= end:
        raise TlvError(TlvErrorKind.TRUNCATED_LENGTH, length_pos)
    length = buf[length_pos]
    value_offset = length_pos + 1
    if length == LONG_LENGTH_MARKER:
        if end - value_offset < 2:
            raise TlvError(TlvErrorKind.TRUNCATED_LENGTH, length_pos)
        length = int.from_bytes(buf[value_offset : value_offset + 2], "big")
        if length <= SHORT_LENGTH_MAX:
            raise TlvError(TlvErrorKind.NON_MINIMAL_LENGTH, length_pos)
        value_offset += 2
    if length > end - value_offset:
        raise TlvError(TlvErrorKind.VALUE_PAST_END, length_pos)
    return DgiItem(tag, pos, value_offset, length)


def _read_ber_reading(buf: Buffer, pos: int, end: int) -> DgiItem | None:
    """The BER reading of an ``81``/``82`` length at ``pos + 2``, if minimal and fitting."""
    length_pos = pos + DGI_TAG_LENGTH
    if length_pos >= end or buf[length_pos] not in (_BER_ONE_BYTE, _BER_TWO_BYTES):
        return None
    count = buf[length_pos] & 0x7F
    value_offset = length_pos + 1 + count
    if value_offset > end:
        return None
    length = int.from_bytes(buf[length_pos + 1 : value_offset], "big")
    if length < (0x80 if count == 1 else 0x100) or length > end - value_offset:
        return None
    tag = int.from_bytes(buf[pos:length_pos], "big")
    return DgiItem(tag, pos, value_offset, length, ber_length=True)


def _readings(buf: Buffer, pos: int, end: int, accept_ber: bool) -> list[DgiItem]:
    """Every well-formed reading of the DGI at ``pos``, GP reading first."""
    found: list[DgiItem] = []
    with contextlib.suppress(TlvError):
        found.append(read_dgi_header(buf, pos, end))
    if accept_ber:
        ber = _read_ber_reading(buf, pos, end)
        if ber is not None:
            found.append(ber)
    return found


def _complete_positions(
    buf: Buffer, start: int, end: int, accept_ber: bool
) -> dict[int, list[DgiItem]]:
    """For each reachable position from which the rest parses, its readings that lead on."""
    readings: dict[int, list[DgiItem]] = {}
    frontier = [start]
    while frontier:
        pos = frontier.pop()
        if pos == end or pos in readings:
            continue
        readings[pos] = _readings(buf, pos, end, accept_ber)
        frontier.extend(item.end for item in readings[pos])
    complete: dict[int, list[DgiItem]] = {}
    # Every reading ends after it starts, so deciding positions from the back is enough.
    for pos in sorted(readings, reverse=True):
        leading = [i for i in readings[pos] if i.end == end or i.end in complete]
        if leading:
            complete[pos] = leading
    return complete


def _first_error(buf: Buffer, pos: int, end: int, accept_ber: bool) -> TlvError:
    """The error met by walking GP readings (BER where GP fails) from ``pos``.

    Called only when no reading parses the whole buffer, so the walk always meets one.
    """
    while True:
        try:
            item = read_dgi_header(buf, pos, end)
        except TlvError as err:
            ber = _read_ber_reading(buf, pos, end) if accept_ber else None
            if ber is None:
                return err
            item = ber
        pos = item.end


def iter_dgis(
    buf: Buffer, start: int = 0, end: int | None = None, accept_ber: bool = ACCEPT_BER_LENGTHS
) -> Iterator[DgiItem]:
    """Yield the DGIs lying back to back in ``buf[start:end]``.

    Args:
        accept_ber: also accept BER lengths (``81 xx``, ``82 xx xx``) per the module rule.

    Raises:
        TlvError: the buffer does not parse as DGIs under any reading; kind and offset are
            those met by walking the GP readings.
    """
    stop = len(buf) if end is None else end
    complete = _complete_positions(buf, start, stop, accept_ber)
    if start != stop and start not in complete:
        raise _first_error(buf, start, stop, accept_ber)
    pos = start
    while pos < stop:
        item = complete[pos][0]
        yield item
        pos = item.end


def decode_dgis(buf: Buffer, accept_ber: bool = ACCEPT_BER_LENGTHS) -> list[tuple[int, bytes]]:
    """All ``(tag, value)`` pairs of ``buf`` in order."""
    return [(item.tag, item.value(buf)) for item in iter_dgis(buf, accept_ber=accept_ber)]


def decode_single_dgi(
    buf: Buffer, expected_tag: int | None = None, accept_ber: bool = ACCEPT_BER_LENGTHS
) -> bytes:
    """The value of the one DGI that must fill ``buf`` exactly.

    Raises:
        TlvError: malformed, bytes after the DGI (``TRAILING_BYTES`` at the first of them), or
            ``UNEXPECTED_TAG`` at offset 0 when the tag is not ``expected_tag``.
    """
    readings = _readings(buf, 0, len(buf), accept_ber)
    if not readings:
        raise _first_error(buf, 0, len(buf), accept_ber=False)
    exact = [item for item in readings if item.end == len(buf)]
    if not exact:
        raise TlvError(TlvErrorKind.TRAILING_BYTES, readings[0].end)
    item = exact[0]
    if expected_tag is not None and item.tag != expected_tag:
        raise TlvError(
            TlvErrorKind.UNEXPECTED_TAG, 0, f"expected DGI {expected_tag:04X}, found {item.tag:04X}"
        )
    return item.value(buf)
