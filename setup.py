"""Build hook: the optional native back-end (``native/``, cffi), driven by ``M2MRSP_NATIVE``.

* unset or empty: build ``m2mrsp._native`` when a C compiler and the OpenSSL 3 headers are
  there; otherwise print one line saying why, and install the pure-Python twin only;
* ``0``: build nothing;
* ``1``: the native build must succeed.

Everything else lives in pyproject.toml.
"""

import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import BaseError, CCompilerError

ENV_VAR = "M2MRSP_NATIVE"
SETTING = os.environ.get(ENV_VAR, "").strip()


class OptionalBuildExt(build_ext):
    """A failed optional extension becomes one warning line; a required one still fails."""

    def build_extension(self, ext):  # type: ignore[no-untyped-def]
        try:
            super().build_extension(ext)
        except (BaseError, CCompilerError, OSError) as err:
            if not ext.optional:
                raise
            reason = " ".join(str(err).split())
            if len(reason) > 200:  # a failed compiler command line: its own output came first
                reason = reason[:197] + "..."
            sys.stderr.write(
                f"WARNING: m2mrsp native back-end not built ({reason}); the Python twin will "
                f"be used. Set {ENV_VAR}=1 to make this an error.\n"
            )


if SETTING not in ("", "0", "1"):
    sys.exit(f"{ENV_VAR} must be unset, 0 or 1, not {SETTING!r}")

setup(
    cmdclass={"build_ext": OptionalBuildExt},
    cffi_modules=[] if SETTING == "0" else ["native/build_native.py:ffibuilder"],
)
