"""AES-CMAC (NIST SP 800-38B, RFC 4493) on ``cryptography``'s CMAC.

SCP03 MACs every command and response with AES-CMAC (GP Amd D §6.2.4, PROTOCOL.md §5.6), and
scenario #3 MACs its receipt with it (PROTOCOL.md §4.6 step 6). :class:`CmacKey` keys the
cipher once and copies the keyed state for each message, which is what a session key used for
hundreds of segments wants.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.cmac import CMAC

AES_BLOCK = 16
AES_KEY_SIZES = frozenset({16, 24, 32})


def _check_key(key: bytes) -> None:
    if len(key) not in AES_KEY_SIZES:
        raise ValueError(f"AES key must be 16, 24 or 32 bytes, not {len(key)}")


def aes_cmac(key: bytes, data: bytes) -> bytes:
    """The full 16-byte AES-CMAC of ``data`` under ``key`` (RFC 4493 §2.4).

    Raises:
        ValueError: ``key`` is not an AES key size.
    """
    _check_key(key)
    mac = CMAC(algorithms.AES(key))
    mac.update(data)
    return mac.finalize()


class CmacKey:
    """An AES key kept keyed for many CMAC computations (``CmacKey(key).mac(data)``)."""

    __slots__ = ("_template",)

    def __init__(self, key: bytes) -> None:
        """Key the CMAC template.

        Raises:
            ValueError: ``key`` is not an AES key size.
        """
        _check_key(key)
        self._template = CMAC(algorithms.AES(key))

    def mac(self, *parts: bytes) -> bytes:
        """The full 16-byte AES-CMAC of the concatenation of ``parts``."""
        ctx = self._template.copy()
        for part in parts:
            ctx.update(part)
        return ctx.finalize()
