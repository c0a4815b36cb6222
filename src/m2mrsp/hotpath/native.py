"""Native twin of the hot path: a thin typed wrapper over the compiled ``m2mrsp._native``.

This is the only module that touches ``ffi`` and ``lib``. It checks arguments with the typed
exceptions of the pure twins before anything reaches C (the C checks them again), hands the
whole batch to C in one call, and turns return codes and faults into the errors, kinds, offsets
and messages of :mod:`.scp03t_py` and :mod:`.bertlv_py` (contract in :mod:`.types`).

Known shortcomings:

* Arguments the pure twin does not check are refused here: an MCV that is not 16 bytes
  (``ValueError``) and a negative counter (``OverflowError``), which the pure twin would use.
* The whole output of a batch is first built in one buffer and then cut into ``bytes``, so
  a whole-profile wrap or unwrap briefly holds its output twice (about 2.1-2.2 times the
  profile's size at the peak, against about 1.4 for the pure twin).
* Buffers of 4 GiB or more are refused by :func:`scan_tlv` (the table's offsets are 32-bit).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from m2mrsp._native import ffi, lib
from m2mrsp.errors import ScpError, ScpErrorKind, TlvError, TlvErrorKind
from m2mrsp.hotpath.types import (
    BLOCK,
    MAC_LENGTH,
    MAX_SEGMENT_PLAINTEXT,
    MAX_SEGMENT_TLV,
    SEGMENT_TAG,
    TLV_TABLE_DTYPE,
    Scp03tState,
    TlvTable,
    UnwrapResult,
    WrapResult,
    check_plaintext_length,
    check_segment_size,
)
from m2mrsp.tlv import DEFAULT_MAX_DEPTH, MAX_LENGTH_OCTETS, MAX_TAG_OCTETS

NAME = "native"

_KEY_LENGTH = 16
_STATE_SIZE = 2 * BLOCK
# The largest single TLV: a 4-byte tag, "82 xx xx", 1008 bytes of cipher text and the MAC.
_SEGMENT_CAPACITY = 1024
_MAX_SCAN_BUFFER = 0xFFFF_FFFF
_MAX_DEPTH_ARG = 0xFFFF_FFFF
_ROW_DTYPE = TLV_TABLE_DTYPE.newbyteorder("=")
_SIZE_T = np.dtype(np.uintp)


def _check_contract() -> None:
    """Refuse to load a build whose shared constants or layouts drifted from the Python side."""
    shared = [
        (lib.M2M_BLOCK, BLOCK),
        (lib.M2M_MAC_LENGTH, MAC_LENGTH),
        (lib.M2M_MAX_SEGMENT_TLV, MAX_SEGMENT_TLV),
        (lib.M2M_MAX_SEGMENT_PLAINTEXT, MAX_SEGMENT_PLAINTEXT),
        (lib.M2M_TLV_MAX_TAG_OCTETS, MAX_TAG_OCTETS),
        (lib.M2M_TLV_MAX_LENGTH_OCTETS, MAX_LENGTH_OCTETS),
        (ffi.sizeof("m2m_tlv_row"), TLV_TABLE_DTYPE.itemsize),
        (lib.M2M_STATE_SIZE, _STATE_SIZE),
        (ffi.sizeof("size_t"), _SIZE_T.itemsize),
        (_SEGMENT_CAPACITY >= MAX_SEGMENT_TLV + 3, True),
    ]
    shared += [(getattr(lib, f"M2M_TLV_{kind.name}"), kind.value) for kind in TlvErrorKind
               if kind is not TlvErrorKind.UNEXPECTED_TAG]
    shared += [(getattr(lib, f"M2M_SCP_{kind.name}"), kind.value) for kind in ScpErrorKind
               if kind.value <= ScpErrorKind.BAD_PADDING]
    if any(c_value != py_value for c_value, py_value in shared):
        raise ImportError("m2mrsp._native does not match the Python contract; rebuild it")


_check_contract()


def _as_bytes(data: Any) -> bytes:
    return data if type(data) is bytes else bytes(data)


def _state_bytes(state: Scp03tState) -> bytes:
    """The C form of a state: MCV, then the counter as 16 big-endian bytes.

    Raises:
        ValueError: an MCV that is not 16 bytes.
        OverflowError: a counter outside 0..2**128 - 1.
    """
    raw = bytes(state.mcv) + state.counter.to_bytes(BLOCK, "big")
    if len(raw) != _STATE_SIZE:
        raise ValueError(f"the MCV must be 16 bytes, not {len(state.mcv)}")
    return raw


def _buffer(count: int, dtype: Any = np.uint8, ctype: str = "uint8_t[]") -> tuple[Any, Any]:
    """An uninitialised numpy array of ``count`` items and the C pointer to its data.

    numpy owns the memory (and reports it to tracemalloc); the cdata is only a view of it.
    """
    array = np.empty(max(count, 1), dtype=dtype)
    return array, ffi.from_buffer(ctype, array)


def _split(array: Any, size: int, step: int) -> list[bytes]:
    """The first ``size`` bytes of a uint8 array cut into ``step``-byte ``bytes`` objects.

    numpy builds the pieces in C (an opaque ``V`` dtype keeps trailing zero bytes), several
    times faster than a Python loop of slices.
    """
    if size == 0:
        return []
    return array[:size].view(f"V{step}").tolist()  # type: ignore[no-any-return]


def _tag_octets(tag: int) -> int:
    return max(1, (tag.bit_length() + 7) // 8)


def _tlv_size(plain_len: int, tag_octets: int) -> int:
    """Bytes of the command TLV that wraps ``plain_len`` bytes (PROTOCOL.md §5.6-5.7)."""
    value = (plain_len // BLOCK + 1) * BLOCK + MAC_LENGTH
    return tag_octets + (1 if value < 0x80 else 2 if value <= 0xFF else 3) + value


def _scp_error(fault: Any, tag: int) -> ScpError:
    kind = ScpErrorKind(fault.kind)
    detail = ""
    if kind is ScpErrorKind.MALFORMED_TLV:
        if fault.detail == TlvErrorKind.TRAILING_BYTES:
            detail = "trailing bytes after the TLV"
        else:
            detail = str(TlvError(TlvErrorKind(fault.detail), fault.offset))
    elif kind is ScpErrorKind.WRONG_TAG:
        detail = f"{fault.detail:X} instead of {tag:X}"
    return ScpError(kind, fault.segment, fault.offset, detail)


def _error(rc: int, fault: Any = None, tag: int = SEGMENT_TAG) -> Exception:
    """The exception for a non-zero return code of the C library."""
    if rc == lib.M2M_ERR_SCP:
        return _scp_error(fault, tag)
    if rc == lib.M2M_ERR_TLV:
        return TlvError(TlvErrorKind(fault.kind), fault.offset)
    if rc == lib.M2M_ERR_COUNTER:
        return OverflowError("SCP03t counter exhausted: it would pass 2**128 - 1")
    if rc == lib.M2M_ERR_NOMEM:
        return MemoryError("native back-end: allocation failed")
    if rc == lib.M2M_ERR_ARG:
        return ValueError("native back-end refused an argument the wrapper let through")
    if rc == lib.M2M_ERR_SPACE:
        return RuntimeError("native back-end: output buffer sized too small (a wrapper bug)")
    return RuntimeError(f"native back-end: libcrypto failure (code {rc})")


class SegmentCipher:
    """SCP03t protection of segments and their responses under one set of session keys.

    Holds OpenSSL contexts (freed, key schedules cleansed, when the object is collected) and
    scratch buffers; calls on one instance are serialised by a lock.
    """

    def __init__(self, s_enc: bytes, s_mac: bytes, s_rmac: bytes) -> None:
        for name, key in (("S-ENC", s_enc), ("S-MAC", s_mac), ("S-RMAC", s_rmac)):
            if len(key) != _KEY_LENGTH:
                raise ValueError(f"{name} must be 16 bytes, not {len(key)}")
        handle = ffi.new("m2m_scp **")
        rc = lib.m2m_scp_new(
            _as_bytes(s_enc), _KEY_LENGTH, _as_bytes(s_mac), _KEY_LENGTH,
            _as_bytes(s_rmac), _KEY_LENGTH, handle,
        )
        if rc:
            raise _error(rc)
        self._scp = ffi.gc(handle[0], lib.m2m_scp_free)
        self._next = ffi.new("m2m_scp_state *")
        self._fault = ffi.new("m2m_fault *")
        self._sizes = ffi.new("size_t[2]")
        self._out = ffi.new("uint8_t[]", _SEGMENT_CAPACITY)
        # char views: ffi.unpack turns them into bytes faster than ffi.buffer slicing.
        self._out_chars = ffi.cast("char *", self._out)
        self._next_chars = ffi.cast("char *", self._next)
        self._lock = threading.Lock()

    def _output(self) -> bytes:
        return ffi.unpack(self._out_chars, self._sizes[0])  # type: ignore[no-any-return]

    # -- commands (SM-DP wraps, card unwraps) -------------------------------------------------

    def wrap_segment(
        self, state: Scp03tState, data: bytes, tag: int = SEGMENT_TAG
    ) -> tuple[bytes, Scp03tState]:
        """Encrypt and MAC ``data`` as one TLV (PROTOCOL.md §5.6-5.7)."""
        check_plaintext_length(len(data))
        state_in = _state_bytes(state)
        data = _as_bytes(data)
        with self._lock:
            rc = lib.m2m_scp03t_wrap_segment(
                self._scp, state_in, _STATE_SIZE, data, len(data), tag, self._out,
                _SEGMENT_CAPACITY, self._sizes, self._next,
            )
            if rc:
                raise _error(rc)
            tlv = ffi.unpack(self._out_chars, self._sizes[0])
            mcv = ffi.unpack(self._next_chars, BLOCK)
        return tlv, Scp03tState(mcv, state.counter + 1)

    def wrap_all(
        self, state: Scp03tState, data: bytes, segment_size: int, tag: int = SEGMENT_TAG
    ) -> WrapResult:
        """Cut ``data`` into ``segment_size`` chunks and wrap each, in one C call."""
        check_segment_size(segment_size)
        state_in = _state_bytes(state)
        data = _as_bytes(data)
        full, rest = divmod(len(data), segment_size)
        count = full + (rest > 0)
        step = _tlv_size(segment_size, _tag_octets(tag))
        size = full * step + (_tlv_size(rest, _tag_octets(tag)) if rest else 0)
        out_array, out = _buffer(size)
        mcv_array, mcvs = _buffer(count * BLOCK)
        with self._lock:
            rc = lib.m2m_scp03t_wrap_all(
                self._scp, state_in, _STATE_SIZE, data, len(data), segment_size, tag, out,
                size, self._sizes, mcvs, count * BLOCK, self._sizes + 1, self._next,
            )
            if rc:
                raise _error(rc)
        if count == 0:
            return WrapResult([], [], state)
        tlvs = _split(out_array, full * step, step)
        if rest:
            tlvs.append(out_array[full * step : size].tobytes())
        mcv_list = _split(mcv_array, count * BLOCK, BLOCK)
        return WrapResult(tlvs, mcv_list, Scp03tState(mcv_list[-1], state.counter + count))

    def unwrap_segment(
        self, state: Scp03tState, tlv: bytes, tag: int = SEGMENT_TAG
    ) -> tuple[bytes, Scp03tState]:
        """Check and decrypt exactly one command TLV (card side)."""
        state_in = _state_bytes(state)
        tlv = _as_bytes(tlv)
        with self._lock:
            rc = lib.m2m_scp03t_unwrap_segment(
                self._scp, state_in, _STATE_SIZE, tlv, len(tlv), tag, self._out,
                _SEGMENT_CAPACITY, self._sizes, self._next, self._fault,
            )
            if rc:
                raise _error(rc, self._fault, tag)
            plain = ffi.unpack(self._out_chars, self._sizes[0])
            mcv = ffi.unpack(self._next_chars, BLOCK)
        return plain, Scp03tState(mcv, state.counter + 1)

    def unwrap_all(
        self, state: Scp03tState, tlvs: bytes, tag: int = SEGMENT_TAG
    ) -> UnwrapResult:
        """Check and decrypt consecutive command TLVs in one C call; stop at the first failure.

        Raises:
            ScpError: with ``segment``, ``offset`` and ``partial`` (an :class:`UnwrapResult` of
                the segments before the failing one).
        """
        state_in = _state_bytes(state)
        tlvs = _as_bytes(tlvs)
        with self._lock:
            # Every segment that can succeed has a well-formed header: counting them first
            # sizes the per-segment outputs exactly.
            lib.m2m_tlv_count(tlvs, len(tlvs), self._sizes)
            slots = max(self._sizes[0], 1)
            out_array, out = _buffer(len(tlvs))
            end_array, ends = _buffer(slots, _SIZE_T, "size_t[]")
            mcv_array, mcvs = _buffer(slots * BLOCK)
            rc = lib.m2m_scp03t_unwrap_all(
                self._scp, state_in, _STATE_SIZE, tlvs, len(tlvs), tag, out, len(tlvs), ends,
                mcvs, slots, self._sizes, self._next, self._fault,
            )
            done = self._sizes[0]
            error = _error(rc, self._fault, tag) if rc else None
        result = _unwrap_result(state, out_array, end_array, mcv_array, done)
        if error is not None:
            if isinstance(error, ScpError):
                error.partial = result
            raise error
        return result

    # -- responses (card wraps, SM-DP unwraps) ------------------------------------------------

    def wrap_response(self, state: Scp03tState, data: bytes, tag: int = SEGMENT_TAG) -> bytes:
        """R-ENC (when there is data) and R-MAC of the answer to the command whose state this is."""
        check_plaintext_length(len(data))
        state_in = _state_bytes(state)
        data = _as_bytes(data)
        with self._lock:
            rc = lib.m2m_scp03t_wrap_response(
                self._scp, state_in, _STATE_SIZE, data, len(data), tag, self._out,
                _SEGMENT_CAPACITY, self._sizes,
            )
            if rc:
                raise _error(rc)
            return self._output()

    def unwrap_response(self, state: Scp03tState, tlv: bytes, tag: int = SEGMENT_TAG) -> bytes:
        """Check the R-MAC and decrypt the answer to the command whose state this is."""
        state_in = _state_bytes(state)
        tlv = _as_bytes(tlv)
        with self._lock:
            rc = lib.m2m_scp03t_unwrap_response(
                self._scp, state_in, _STATE_SIZE, tlv, len(tlv), tag, self._out,
                _SEGMENT_CAPACITY, self._sizes, self._fault,
            )
            if rc:
                raise _error(rc, self._fault, tag)
            return self._output()


def _unwrap_result(start: Scp03tState, out: Any, ends: Any, mcvs: Any, done: int) -> UnwrapResult:
    """Cut the C outputs of the first ``done`` unwrapped segments into an UnwrapResult."""
    if done == 0:
        return UnwrapResult([], [], start)
    ends = ends[:done]
    lengths = np.diff(ends, prepend=0)
    first = int(lengths[0])
    if first and (lengths[:-1] == first).all():  # whole segments of one size, then the rest
        body = first * (done - 1)
        plaintexts = _split(out, body, first) + [out[body : int(ends[-1])].tobytes()]
    else:
        view = out.data
        bounds = [0, *ends.tolist()]
        plaintexts = [view[bounds[i] : bounds[i + 1]].tobytes() for i in range(done)]
    mcv_list = _split(mcvs, done * BLOCK, BLOCK)
    return UnwrapResult(plaintexts, mcv_list, Scp03tState(mcv_list[-1], start.counter + done))


def scan_tlv(buf: bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> TlvTable:
    """Walk every TLV of ``buf`` in one C call (top level back to back, constructed descended).

    Returns:
        one ``TLV_TABLE_DTYPE`` row per TLV, in pre-order: a view of the numpy array the C
        code filled.

    Raises:
        TlvError: the first malformed field met, with its offset.
        ValueError: ``buf`` of 4 GiB or more.
    """
    buf = _as_bytes(buf)
    if len(buf) > _MAX_SCAN_BUFFER:
        raise ValueError(f"scan_tlv takes at most {_MAX_SCAN_BUFFER} bytes, not {len(buf)}")
    depth = min(max(max_depth, 0), _MAX_DEPTH_ARG)
    written = ffi.new("size_t *")
    fault = ffi.new("m2m_fault *")
    # Profiles average about 5 bytes per TLV; every TLV takes at least 2, so the second size
    # always suffices.
    for capacity in (len(buf) // 4 + 16, len(buf) // 2 + 1):
        table, rows = _buffer(capacity, _ROW_DTYPE, "m2m_tlv_row[]")
        rc = lib.m2m_tlv_scan(buf, len(buf), depth, rows, capacity, written, fault)
        if rc != lib.M2M_ERR_SPACE:
            break
    if rc:
        raise _error(rc, fault)
    result: TlvTable = table[: written[0]]
    return result if _ROW_DTYPE == TLV_TABLE_DTYPE else result.astype(TLV_TABLE_DTYPE)


def build_details() -> dict[str, str]:
    """How the extension was built and what it runs with, for ``m2mrsp info``."""
    return {
        "native_openssl_compiled": ffi.string(lib.m2m_openssl_build_version()).decode(),
        "native_openssl_runtime": ffi.string(lib.m2m_openssl_runtime_version()).decode(),
        "native_compiler": ffi.string(lib.m2m_build_compiler()).decode(),
        "native_cflags": ffi.string(lib.m2m_build_flags()).decode(),
    }

