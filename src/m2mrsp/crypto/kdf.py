"""Key derivation for scenario #3 key establishment (PROTOCOL.md §4.6 step 4).

The choice is **ANSI X9.63 KDF with SHA-256** (BSI TR-03111 §4.3.3)::

    KeyData = SHA256(Z ‖ 00000001 ‖ SharedInfo) ‖ SHA256(Z ‖ 00000002 ‖ SharedInfo) ‖ …

with the 32-bit big-endian counter *after* the shared secret ``Z``. SGP.02, GP Amd A/E/F and
SGP.22 all use this order, so :data:`DEFAULT_KDF` is ``"x963"``.

An earlier prototype named the NIST SP 800-56C one-step KDF instead. With SHA-256 it is
``SHA256(counter ‖ Z ‖ FixedInfo)``: the counter comes *before* ``Z``, so it gives different
bytes for the same inputs. It stays selectable under ``"sp800-56c"`` for experiments only; a
card built to the spec would reject the keys it yields.
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

KdfFunction = Callable[[bytes, bytes, int], bytes]


def x963_kdf(z: bytes, shared_info: bytes, length: int) -> bytes:
    """ANSI X9.63 KDF with SHA-256: ``length`` bytes of key data (counter after ``z``).

    Args:
        z: the shared secret (the ECDH x-coordinate).
        shared_info: the SharedInfo octets (may be empty).
        length: number of output bytes.

    Raises:
        ValueError: ``length`` is not positive or too large for SHA-256.
    """
    if length <= 0:
        raise ValueError(f"KDF output length must be positive, not {length}")
    return X963KDF(hashes.SHA256(), length, shared_info).derive(z)


def sp800_56c_kdf(z: bytes, fixed_info: bytes, length: int) -> bytes:
    """NIST SP 800-56C one-step KDF with SHA-256 (counter before ``z``); not SGP.02's KDF.

    Args:
        z: the shared secret.
        fixed_info: the FixedInfo (OtherInfo) octets (may be empty).
        length: number of output bytes.

    Raises:
        ValueError: ``length`` is not positive or too large for SHA-256.
    """
    if length <= 0:
        raise ValueError(f"KDF output length must be positive, not {length}")
    return ConcatKDFHash(hashes.SHA256(), length, fixed_info).derive(z)


KDFS: dict[str, KdfFunction] = {"x963": x963_kdf, "sp800-56c": sp800_56c_kdf}
DEFAULT_KDF = "x963"


def kdf_by_name(name: str) -> KdfFunction:
    """The KDF registered as ``name``.

    Raises:
        ValueError: unknown name (the message lists the choices).
    """
    try:
        return KDFS[name]
    except KeyError:
        raise ValueError(f"unknown KDF {name!r}; choose one of {', '.join(KDFS)}") from None
