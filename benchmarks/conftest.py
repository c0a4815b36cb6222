"""pytest-benchmark set-up: back-end and size parameters, groups that hold both back-ends.

Every benchmark takes the ``backend`` fixture (``python`` and ``native``; native skipped with
the reason it is missing) and calls :func:`label` with its operation and sizes, which sets the
group (operation + sizes, so both back-ends share one table and its ratio column) and the
``extra_info`` (back-end, OpenSSL versions, sizes). Data is seeded. Plain ``pytest`` skips all
of this (``--benchmark-skip`` in addopts); ``pytest --benchmark-only`` runs it.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

SHARED_PROFILES = Path(__file__).resolve().parents[1].parent / "shared" / "profiles"
SEED = 42
PAYLOAD_BYTES = 64 * 1024
BULKY_KEYS = ("params",)


def openssl_versions() -> dict[str, str]:
    """The OpenSSL of ``cryptography`` and, when reported, the native back-end's."""
    from cryptography.hazmat.backends.openssl import backend as openssl

    from m2mrsp import backend as backends

    versions = {
        "openssl_cryptography": openssl.openssl_version_text(),
        "openssl_python_ssl": ssl.OPENSSL_VERSION,
    }
    build_info = getattr(backends, "build_info", None)
    if callable(build_info):
        for key, value in build_info().items():
            if "openssl" in str(key).lower():
                versions[f"build_{key}"] = str(value)
    return versions


def _label(benchmark: Any, operation: str, backend: str, **sizes: int | str) -> None:
    """Group ``benchmark`` by operation and sizes, and record back-end, OpenSSL and sizes."""
    suffix = " ".join(f"{key}={value}" for key, value in sizes.items())
    benchmark.group = f"{operation} {suffix}".strip()
    benchmark.extra_info.update({"backend": backend, **openssl_versions(), **sizes})


@pytest.fixture
def label() -> Callable[..., None]:
    """``label(benchmark, operation, backend, **sizes)``: set the group and extra_info."""
    return _label


@pytest.fixture(params=["python", "native"])
def backend(request: pytest.FixtureRequest) -> Any:
    """Each hot-path back-end; native is skipped with the reason it is missing."""
    from m2mrsp import backend as backends

    if request.param not in backends.available():
        pytest.skip(str(backends.NATIVE_ERROR))
    return backends.get(request.param)


@pytest.fixture(scope="session")
def payload() -> bytes:
    """64 KB of seeded pseudo-random bytes (PERF_ANCHORS.md §2's SCP03t input size)."""
    return np.random.default_rng(SEED).bytes(PAYLOAD_BYTES)


@pytest.fixture(scope="session")
def profile() -> tuple[str, bytes]:
    """``(name, package)``: the first TS.48 profile when ../shared/profiles has one, else the
    embedded default profile."""
    paths = sorted(SHARED_PROFILES.glob("*.der")) if SHARED_PROFILES.is_dir() else []
    if paths:
        return paths[0].stem, paths[0].read_bytes()
    from m2mrsp.bench import read_profile

    return "default", read_profile("default").package


def pytest_benchmark_update_json(
    config: Any, benchmarks: list[Any], output_json: dict[str, Any]
) -> None:
    """Drop the bulky per-benchmark params: the name and extra_info already carry them."""
    for entry in output_json.get("benchmarks", []):
        for key in BULKY_KEYS:
            entry.pop(key, None)
