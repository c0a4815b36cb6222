"""Stub of the cffi extension built from native/ (declarations in native/m2m_native.cdef).

Only :mod:`m2mrsp.hotpath.native` imports it; cffi objects are untyped, hence ``Any``.
"""

from typing import Any

ffi: Any
lib: Any
