"""The one place that decides which hot-path back-end runs.

``M2MRSP_NATIVE`` (read at import, the same variable the build reads):

* unset or empty: the native back-end when it is built and loads, else the Python twin;
* ``0``: the Python twin, even when native is built;
* ``1``: native is required; importing this module raises :class:`NativeUnavailableError`
  with the reason when it is missing.

``HAS_NATIVE`` says whether native is built and loadable, ``NATIVE_ERROR`` why not (or
``None``), ``BACKEND`` which one is active. :func:`get` returns either back-end explicitly, so
both can run side by side in one process.
"""

from __future__ import annotations

import logging
import os
from types import SimpleNamespace

from m2mrsp.errors import NativeUnavailableError
from m2mrsp.hotpath import bertlv_py, scp03t_py
from m2mrsp.hotpath.types import Backend

ENV_VAR = "M2MRSP_NATIVE"
NAMES = ("python", "native")

_log = logging.getLogger(__name__)

_PYTHON: Backend = SimpleNamespace(  # type: ignore[assignment]
    NAME="python", SegmentCipher=scp03t_py.SegmentCipher, scan_tlv=bertlv_py.scan_tlv
)


def _load_native() -> tuple[Backend | None, str | None]:
    try:
        from m2mrsp.hotpath import native
    except ImportError as err:
        return None, f"native back-end not available: {err}"
    return native, None  # type: ignore[return-value]


_NATIVE, NATIVE_ERROR = _load_native()
HAS_NATIVE = _NATIVE is not None


def _choose(setting: str) -> Backend:
    if setting == "0":
        return _PYTHON
    if setting == "1":
        if _NATIVE is None:
            raise NativeUnavailableError(f"{ENV_VAR}=1 but {NATIVE_ERROR}")
        return _NATIVE
    if setting:
        raise NativeUnavailableError(f"{ENV_VAR} must be unset, 0 or 1, not {setting!r}")
    if _NATIVE is None:
        _log.info("using the Python back-end: %s", NATIVE_ERROR)
        return _PYTHON
    return _NATIVE


_ACTIVE = _choose(os.environ.get(ENV_VAR, "").strip())
BACKEND: str = _ACTIVE.NAME


def active() -> Backend:
    """The back-end chosen at import."""
    return _ACTIVE


def get(name: str | None = None) -> Backend:
    """The back-end called ``name`` (``None``: the active one).

    Raises:
        NativeUnavailableError: ``native`` asked for but not available (the reason included).
        ValueError: an unknown name.
    """
    if name is None:
        return _ACTIVE
    if name == "python":
        return _PYTHON
    if name == "native":
        if _NATIVE is None:
            raise NativeUnavailableError(str(NATIVE_ERROR))
        return _NATIVE
    raise ValueError(f"unknown back-end {name!r}; choose one of {', '.join(NAMES)}")


def available() -> list[str]:
    """Names of the back-ends that can run here."""
    return [name for name in NAMES if name == "python" or HAS_NATIVE]
