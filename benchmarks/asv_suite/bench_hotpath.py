"""The SCP03t hot path and the TLV scan, per back-end, profile size and segment size."""

from typing import Any, ClassVar

from . import _data


class SegmentWrap:
    """One segment wrapped (SM-DP side) and unwrapped (card side)."""

    params: ClassVar[list[list[Any]]] = [_data.BACKENDS, _data.SEGMENT_SIZES]
    param_names: ClassVar[list[str]] = ["backend", "segment_bytes"]

    def setup(self, backend: str, segment_size: int) -> None:
        self.cipher = _data.backend(backend).SegmentCipher(_data.S_ENC, _data.S_MAC, _data.S_RMAC)
        self.state = _data.start_state()
        self.data = _data.payload(segment_size)
        self.tlv, _ = self.cipher.wrap_segment(self.state, self.data)

    def time_wrap_segment(self, backend: str, segment_size: int) -> None:
        self.cipher.wrap_segment(self.state, self.data)

    def time_unwrap_segment(self, backend: str, segment_size: int) -> None:
        self.cipher.unwrap_segment(self.state, self.tlv)


class ProfileWrap:
    """A whole profile package wrapped into segments and unwrapped, in one call each."""

    params: ClassVar[list[list[Any]]] = [_data.BACKENDS, _data.PROFILE_SIZES, _data.SEGMENT_SIZES]
    param_names: ClassVar[list[str]] = ["backend", "profile_bytes", "segment_bytes"]

    def setup_cache(self) -> dict[int, bytes]:
        return {size: _data.profile(size) for size in _data.PROFILE_SIZES}

    def setup(
        self, profiles: dict[int, bytes], backend: str, profile_size: int, segment_size: int
    ) -> None:
        self.cipher = _data.backend(backend).SegmentCipher(_data.S_ENC, _data.S_MAC, _data.S_RMAC)
        self.state = _data.start_state()
        self.package = profiles[profile_size]
        self.tlvs = b"".join(self.cipher.wrap_all(self.state, self.package, segment_size).tlvs)

    def time_wrap_all(
        self, profiles: dict[int, bytes], backend: str, profile_size: int, segment_size: int
    ) -> None:
        self.cipher.wrap_all(self.state, self.package, segment_size)

    def time_unwrap_all(
        self, profiles: dict[int, bytes], backend: str, profile_size: int, segment_size: int
    ) -> None:
        self.cipher.unwrap_all(self.state, self.tlvs)

    def track_segments(
        self, profiles: dict[int, bytes], backend: str, profile_size: int, segment_size: int
    ) -> int:
        return len(self.cipher.wrap_all(self.state, self.package, segment_size).tlvs)

    track_segments.unit = "segments"  # type: ignore[attr-defined]


class ScanTlv:
    """The BER-TLV walk of a whole profile package (every nested TLV)."""

    params: ClassVar[list[list[Any]]] = [_data.BACKENDS, _data.PROFILE_SIZES]
    param_names: ClassVar[list[str]] = ["backend", "profile_bytes"]

    def setup_cache(self) -> dict[int, bytes]:
        return {size: _data.profile(size) for size in _data.PROFILE_SIZES}

    def setup(self, profiles: dict[int, bytes], backend: str, profile_size: int) -> None:
        selected = _data.backend(backend)
        if not hasattr(selected, "scan_tlv"):
            raise NotImplementedError("this commit has no scan_tlv")
        self.scan = selected.scan_tlv
        self.package = profiles[profile_size]

    def time_scan_tlv(self, profiles: dict[int, bytes], backend: str, profile_size: int) -> None:
        self.scan(self.package)
