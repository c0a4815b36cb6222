"""Shared fixtures: the TS.48 profiles from ../shared/profiles, read in place."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_PROFILES = Path(__file__).resolve().parents[1].parent / "shared" / "profiles"


def ts48_paths() -> list[Path]:
    """The TS.48 profile files, or an empty list when the shared folder is absent."""
    return sorted(SHARED_PROFILES.glob("*.der")) if SHARED_PROFILES.is_dir() else []


@pytest.fixture(params=ts48_paths() or [None], ids=lambda p: p.stem if p else "absent")
def ts48_profile(request: pytest.FixtureRequest) -> tuple[str, bytes]:
    """``(name, bytes)`` of each TS.48 profile; skips when ../shared/profiles is missing."""
    path = request.param
    if path is None:
        pytest.skip(f"TS.48 profiles not found in {SHARED_PROFILES} (the shared/ folder)")
    return path.stem, path.read_bytes()


@pytest.fixture(params=["python", "native"])
def backend(request: pytest.FixtureRequest) -> object:
    """Each hot-path back-end in turn; native is skipped with the reason it is missing."""
    from m2mrsp import backend as selection

    if request.param == "native" and not selection.HAS_NATIVE:
        pytest.skip(str(selection.NATIVE_ERROR))
    return selection.get(request.param)
