"""The one place that decides which hot-path back-end runs.

``M2MRSP_NATIVE`` (read once, at import; ``setup.py`` reads the same variable at build time):

* unset or empty: the native back-end when it is built and loads, else the Python twin (one
  INFO log line says why);
* ``0``: the Python twin only; the native module is not even imported;
* ``1``: native is required; importing this module raises :class:`NativeUnavailableError`
  with the reason when it is missing;
* anything else: ``ValueError`` at import, so that a typo cannot silently pick a back-end.

``HAS_NATIVE`` says whether native is built and loaded, ``NATIVE_ERROR`` why not (or
``None``), ``BACKEND`` which one is active. :func:`get` returns either back-end explicitly, so
both can run side by side in one process; :func:`build_info` describes the build for
``m2mrsp info``.
"""

from __future__ import annotations

import logging
import os
import platform
from types import ModuleType, SimpleNamespace

from m2mrsp.errors import NativeUnavailableError
from m2mrsp.hotpath import bertlv_py, scp03t_py
from m2mrsp.hotpath.types import Backend

ENV_VAR = "M2MRSP_NATIVE"
NAMES = ("python", "native")
_NATIVE_MODULE = "m2mrsp._native"

_log = logging.getLogger(__name__)

_PYTHON: Backend = SimpleNamespace(
    NAME="python", SegmentCipher=scp03t_py.SegmentCipher, scan_tlv=bertlv_py.scan_tlv
)


def _read_setting() -> str:
    setting = os.environ.get(ENV_VAR, "").strip()
    if setting not in ("", "0", "1"):
        raise ValueError(f"{ENV_VAR} must be unset, 0 or 1, not {setting!r}")
    return setting


SETTING = _read_setting()


def _load_native() -> tuple[ModuleType | None, str | None]:
    if SETTING == "0":
        return None, f"disabled by {ENV_VAR}=0"
    try:
        from m2mrsp.hotpath import native
    except ImportError as err:
        if err.name == _NATIVE_MODULE:
            return None, (
                f"{_NATIVE_MODULE} is not built (no C compiler or OpenSSL 3 headers at install "
                f"time, or installed with {ENV_VAR}=0); reinstall with {ENV_VAR}=1 to see why"
            )
        return None, f"{_NATIVE_MODULE} does not load: {err}"
    return native, None


_NATIVE_MODULE_OBJ, NATIVE_ERROR = _load_native()
_NATIVE: Backend | None = _NATIVE_MODULE_OBJ
HAS_NATIVE = _NATIVE is not None


def _choose() -> Backend:
    if SETTING == "0":
        return _PYTHON
    if _NATIVE is not None:
        return _NATIVE
    if SETTING == "1":
        raise NativeUnavailableError(f"{ENV_VAR}=1 but {NATIVE_ERROR}")
    _log.info("hot path on the Python twin: %s", NATIVE_ERROR)
    return _PYTHON


_ACTIVE = _choose()
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
            raise NativeUnavailableError(f"native back-end not available: {NATIVE_ERROR}")
        return _NATIVE
    raise ValueError(f"unknown back-end {name!r}; choose one of {', '.join(NAMES)}")


def available() -> list[str]:
    """Names of the back-ends that can run here."""
    return [name for name in NAMES if name == "python" or HAS_NATIVE]


def build_info() -> dict[str, str]:
    """What ``m2mrsp info`` prints: the active back-end and how each one was built.

    Returns:
        ``backend``, ``openssl`` (the OpenSSL the active back-end's hot path runs on),
        ``setting``, ``native`` (built, or why not), ``python``, ``cryptography`` and
        ``cryptography_openssl`` (the OpenSSL inside ``cryptography``, which the Python twin
        uses), then ``native_openssl_compiled``, ``native_openssl_runtime``,
        ``native_compiler`` and ``native_cflags`` (``n/a`` without native).
    """
    import cryptography
    from cryptography.hazmat.backends.openssl.backend import backend as openssl

    details = dict.fromkeys(
        ("native_openssl_compiled", "native_openssl_runtime", "native_compiler", "native_cflags"),
        "n/a",
    )
    if _NATIVE_MODULE_OBJ is not None:
        details.update(_NATIVE_MODULE_OBJ.build_details())
    python_openssl = openssl.openssl_version_text()
    native_active = BACKEND == "native"
    info = {
        "backend": BACKEND,
        "openssl": details["native_openssl_runtime"] if native_active else python_openssl,
        "setting": f"{ENV_VAR}={SETTING}" if SETTING else f"{ENV_VAR} unset (auto)",
        "native": "built and loaded" if HAS_NATIVE else f"not available: {NATIVE_ERROR}",
        "python": platform.python_version(),
        "cryptography": cryptography.__version__,
        "cryptography_openssl": python_openssl,
    }
    return info | details
