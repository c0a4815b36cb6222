"""cffi builder of ``m2mrsp._native`` (out-of-line API mode) from the C sources beside it.

``setup.py`` hands :data:`ffibuilder` to setuptools through ``cffi_modules``. The extension is
optional unless ``M2MRSP_NATIVE=1`` (``setup.py`` turns a failed optional build into one
warning). No CPU-specific flag is ever added: OpenSSL picks AES-NI and the like at run time.
``scripts/sanitize.sh`` calls :func:`make_builder` with the sanitizer flags.
"""

from __future__ import annotations

import os
import sysconfig
from collections.abc import Sequence
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
MODULE = "m2mrsp._native"
SOURCES = ("bertlv.c", "scp03t.c", "buildinfo.c")
CFLAGS = ("-std=c99", "-Wall", "-Wextra")
ENV_VAR = "M2MRSP_NATIVE"


def _flags_text(cflags: Sequence[str]) -> str:
    """The flags as a C string literal for ``m2m_build_flags()`` (no quotes or backslashes)."""
    base = sysconfig.get_config_var("CFLAGS") or ""
    text = " ".join([base, *cflags, os.environ.get("CFLAGS", "")]).split()
    return '"' + " ".join(text).replace('"', "").replace("\\", "") + '"'


def make_builder(
    extra_cflags: Sequence[str] = (),
    extra_ldflags: Sequence[str] = (),
    absolute_sources: bool = False,
) -> FFI:
    """A configured FFI builder for ``m2mrsp._native``.

    Args:
        extra_cflags: flags added after the project's own (for instance sanitizers).
        extra_ldflags: linker flags added likewise.
        absolute_sources: name the C files by absolute path, as ``FFI.compile`` needs;
            setuptools wants them relative to the project root, where it runs.
    """
    cflags = [*CFLAGS, *extra_cflags]
    base = HERE if absolute_sources else Path(HERE.name)
    builder = FFI()
    builder.cdef((HERE / "m2m_native.cdef").read_text(encoding="utf-8"))
    builder.set_source(
        MODULE,
        '#include "m2m_native.h"\n',
        sources=[str(base / name) for name in SOURCES],
        include_dirs=[str(HERE)],
        libraries=["crypto"],
        extra_compile_args=cflags,
        extra_link_args=list(extra_ldflags),
        define_macros=[("M2M_BUILD_FLAGS", _flags_text(cflags))],
        optional=os.environ.get(ENV_VAR, "").strip() != "1",
    )
    return builder


ffibuilder = make_builder()

if __name__ == "__main__":
    make_builder(absolute_sources=True).compile(verbose=True)
