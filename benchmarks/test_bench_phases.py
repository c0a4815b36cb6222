"""pytest-benchmark: each provisioning phase alone, and the complete provisioning, per back-end.

A phase is timed with ``benchmark.pedantic``: its setup runs every earlier phase on fresh
entities (:class:`m2mrsp.bench.Stages`), so each round times exactly one phase on real state.
The profile is the first TS.48 profile when ../shared/profiles has one, else the default one.
"""

from __future__ import annotations

from typing import Any

import pytest

from m2mrsp.bench import Stages
from m2mrsp.provisioning import PHASES, Options, provision

ROUNDS = 30
SEED = 42
SEGMENT_SIZES = (240, 1007)  # PERF_ANCHORS.md §2; 1007 is the project's segment size


def _options(backend: str, curve: str = "p256", segment_size: int = 1007) -> Options:
    return Options(
        curve=curve, segment_size=segment_size, seed=SEED, backend=backend, keep_messages=False
    )


@pytest.mark.parametrize("phase", PHASES)
def test_phase(
    benchmark: Any, label: Any, backend: Any, profile: tuple[str, bytes], phase: str
) -> None:
    name, package = profile
    options = _options(backend.NAME)

    def fresh() -> tuple[tuple[Stages, str], dict[str, Any]]:
        stages = Stages(package, options)
        stages.run_until(phase)
        return (stages, phase), {}

    label(benchmark, f"phase {phase}", backend.NAME, profile=name, profile_bytes=len(package))
    benchmark.pedantic(Stages.run, setup=fresh, rounds=ROUNDS)


@pytest.mark.parametrize("segment_size", SEGMENT_SIZES)
@pytest.mark.parametrize("curve", ["p256", "brainpoolp256r1"])
def test_provisioning(
    benchmark: Any,
    label: Any,
    backend: Any,
    profile: tuple[str, bytes],
    curve: str,
    segment_size: int,
) -> None:
    name, package = profile
    options = _options(backend.NAME, curve, segment_size)
    label(
        benchmark,
        "provisioning",
        backend.NAME,
        curve=curve,
        profile=name,
        profile_bytes=len(package),
        segment_bytes=segment_size,
    )
    result = benchmark.pedantic(provision, (package, options), rounds=ROUNDS)
    benchmark.extra_info.update(
        segments=result.download.segments, es8_bytes=result.wire.byte_counts["ES8"]
    )
    assert result.isdp_state == "ENABLED"
