"""Seeded data and guarded access to m2mrsp for the asv suite.

Everything a benchmark needs from m2mrsp goes through here, so that a commit lacking a piece
(the native back-end, ``m2mrsp.bench``, a keyword argument) makes the benchmarks that need it
raise ``NotImplementedError`` in ``setup``, which asv records as skipped, instead of failing
the import of the whole suite.
"""

import importlib
from typing import Any

import numpy as np

SEED = 42
BACKENDS = ["python", "native"]
PROFILE_SIZES = [12288, 32768]
SEGMENT_SIZES = [240, 1007]
S_ENC = bytes(range(0x10))
S_MAC = bytes(range(0x10, 0x20))
S_RMAC = bytes(range(0x30, 0x40))
MCV = bytes(range(0x20, 0x30))


def module(name: str) -> Any:
    """``m2mrsp.<name>``, or ``NotImplementedError`` when this commit does not have it."""
    try:
        return importlib.import_module(f"m2mrsp.{name}")
    except ImportError as err:
        raise NotImplementedError(f"m2mrsp.{name} is not in this commit: {err}") from None


def attribute(name: str, attr: str) -> Any:
    """``m2mrsp.<name>.<attr>``, or ``NotImplementedError``."""
    value = getattr(module(name), attr, None)
    if value is None:
        raise NotImplementedError(f"m2mrsp.{name}.{attr} is not in this commit")
    return value


def backend(name: str) -> Any:
    """The back-end called ``name``; ``NotImplementedError`` when it is not built."""
    selection = module("backend")
    if name not in selection.available():
        raise NotImplementedError(f"{name}: {selection.NATIVE_ERROR}")
    return selection.get(name)


def profile(size: int) -> bytes:
    """The default profile package grown to ``size`` bytes, built from a fixed seed."""
    build = attribute("saip.builder", "build_default_profile")
    rng = attribute("rng", "RandomSource")(SEED, "asv profile")
    try:
        return bytes(build(target_size=size, rng=rng))
    except TypeError as err:
        raise NotImplementedError(f"build_default_profile cannot size profiles: {err}") from None


def payload(size: int) -> bytes:
    """``size`` seeded pseudo-random bytes."""
    return np.random.default_rng(SEED).bytes(size)


def start_state() -> Any:
    """The SCP03t state after EXTERNAL AUTHENTICATE (PERF_ANCHORS.md §2 MCV, counter 0)."""
    return attribute("hotpath.types", "Scp03tState")(mcv=MCV, counter=0)


def options(
    backend_name: str, segment_size: int = 1007, curve: str = "p256", seed: int = SEED
) -> Any:
    """Provisioning options for a benchmark run (messages counted, not kept)."""
    return attribute("provisioning", "Options")(
        curve=curve,
        segment_size=segment_size,
        seed=seed,
        backend=backend_name,
        keep_messages=False,
    )
