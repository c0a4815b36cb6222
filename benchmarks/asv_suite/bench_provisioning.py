"""Each provisioning phase, the whole provisioning (time and peak memory), bytes on ES8,
segment counts and the native/python speed-up, per back-end, profile size and segment size."""

import time
from collections.abc import Callable
from typing import Any, ClassVar

from . import _data

SPEEDUP_ROUNDS = 5


def _profiles() -> dict[int, bytes]:
    return {size: _data.profile(size) for size in _data.PROFILE_SIZES}


class _Phase:
    """Time one phase: ``setup`` runs every earlier phase on fresh entities (m2mrsp.bench)."""

    phase = ""
    params: ClassVar[list[list[Any]]] = [_data.BACKENDS, _data.PROFILE_SIZES, _data.SEGMENT_SIZES]
    param_names: ClassVar[list[str]] = ["backend", "profile_bytes", "segment_bytes"]
    number = 1  # each sample needs the state its own setup prepared

    def setup_cache(self) -> dict[int, bytes]:
        return _profiles()

    def setup(
        self, profiles: dict[int, bytes], backend: str, profile_size: int, segment_size: int
    ) -> None:
        _data.backend(backend)
        stages = _data.attribute("bench", "Stages")
        self.stages = stages(profiles[profile_size], _data.options(backend, segment_size))
        self.stages.run_until(self.phase)

    def time_phase(
        self, profiles: dict[int, bytes], backend: str, profile_size: int, segment_size: int
    ) -> None:
        self.stages.run(self.phase)


class EntitySetUp(_Phase):
    phase = "entity set-up"


class IsdpCreation(_Phase):
    phase = "ISD-P creation"


class KeyEstablishment(_Phase):
    phase = "key establishment"


class ProfileDownload(_Phase):
    phase = "profile download"


class Enabling(_Phase):
    phase = "enabling"


class Provisioning:
    """One complete provisioning: time, peak memory, ES8 bytes and segments."""

    params: ClassVar[list[list[Any]]] = [_data.BACKENDS, _data.PROFILE_SIZES, _data.SEGMENT_SIZES]
    param_names: ClassVar[list[str]] = ["backend", "profile_bytes", "segment_bytes"]

    def setup_cache(self) -> dict[int, bytes]:
        return _profiles()

    def setup(
        self, profiles: dict[int, bytes], backend: str, profile_size: int, segment_size: int
    ) -> None:
        _data.backend(backend)
        self.provision = _data.attribute("provisioning", "provision")
        self.package = profiles[profile_size]
        self.options = _data.options(backend, segment_size)

    def time_provision(
        self, profiles: dict[int, bytes], backend: str, profile_size: int, segment_size: int
    ) -> None:
        self.provision(self.package, self.options)

    def peakmem_provision(
        self, profiles: dict[int, bytes], backend: str, profile_size: int, segment_size: int
    ) -> None:
        self.provision(self.package, self.options)

    def track_es8_bytes(
        self, profiles: dict[int, bytes], backend: str, profile_size: int, segment_size: int
    ) -> int:
        return int(self.provision(self.package, self.options).wire.byte_counts["ES8"])

    track_es8_bytes.unit = "bytes"  # type: ignore[attr-defined]

    def track_segments(
        self, profiles: dict[int, bytes], backend: str, profile_size: int, segment_size: int
    ) -> int:
        return int(self.provision(self.package, self.options).download.segments)

    track_segments.unit = "segments"  # type: ignore[attr-defined]


class NativeSpeedup:
    """python time / native time in one process (best of a few rounds each, interleaved)."""

    params: ClassVar[list[list[Any]]] = [_data.PROFILE_SIZES, _data.SEGMENT_SIZES]
    param_names: ClassVar[list[str]] = ["profile_bytes", "segment_bytes"]

    def setup_cache(self) -> dict[int, bytes]:
        return _profiles()

    def setup(self, profiles: dict[int, bytes], profile_size: int, segment_size: int) -> None:
        self.backends = [_data.backend(name) for name in ("python", "native")]
        self.package = profiles[profile_size]
        self.segment_size = segment_size
        self.provision = _data.attribute("provisioning", "provision")

    def _ratio(self, make_call: Callable[[Any], Callable[[], object]]) -> float:
        calls = [make_call(selected) for selected in self.backends]
        best = [float("inf"), float("inf")]
        for _ in range(SPEEDUP_ROUNDS):
            for index, call in enumerate(calls):
                start = time.perf_counter()
                call()
                best[index] = min(best[index], time.perf_counter() - start)
        return best[0] / best[1]

    def track_download_speedup(
        self, profiles: dict[int, bytes], profile_size: int, segment_size: int
    ) -> float:
        """python/native time of wrapping the profile into segments and unwrapping them."""
        state = _data.start_state()

        def make_call(selected: Any) -> Callable[[], object]:
            cipher = selected.SegmentCipher(_data.S_ENC, _data.S_MAC, _data.S_RMAC)
            tlvs = b"".join(cipher.wrap_all(state, self.package, self.segment_size).tlvs)

            def call() -> None:
                cipher.wrap_all(state, self.package, self.segment_size)
                cipher.unwrap_all(state, tlvs)

            return call

        return self._ratio(make_call)

    track_download_speedup.unit = "python/native"  # type: ignore[attr-defined]

    def track_provisioning_speedup(
        self, profiles: dict[int, bytes], profile_size: int, segment_size: int
    ) -> float:
        """python/native time of one complete provisioning."""

        def make_call(selected: Any) -> Callable[[], object]:
            options = _data.options(selected.NAME, self.segment_size)
            return lambda: self.provision(self.package, options)

        return self._ratio(make_call)

    track_provisioning_speedup.unit = "python/native"  # type: ignore[attr-defined]
