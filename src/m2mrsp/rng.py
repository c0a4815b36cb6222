"""Randomness for every entity: the operating system's by default, a seeded stream on request.

``--seed N`` makes a run reproducible (PROTOCOL.md §10: seeded DRBGs, but no ephemeral key
reused within a run). The seeded stream is SHA-256 in counter mode over a per-entity label, so
each entity draws from its own independent stream and adding a draw in one entity does not
shift the others. It is for simulation only: a real card uses a certified DRBG.
"""

from __future__ import annotations

import hashlib
import secrets


class RandomSource:
    """Source of random bytes; ``seed=None`` means the operating system's CSPRNG."""

    def __init__(self, seed: int | None = None, label: str = "") -> None:
        self._seed = seed
        self._label = label
        self._key = None if seed is None else hashlib.sha256(
            f"m2mrsp/{seed}/{label}".encode()
        ).digest()
        self._counter = 0
        self._pool = b""

    @property
    def seeded(self) -> bool:
        return self._key is not None

    def fork(self, label: str) -> RandomSource:
        """An independent source for a sub-entity (same seed, longer label)."""
        return RandomSource(self._seed, f"{self._label}/{label}")

    def bytes(self, count: int) -> bytes:
        """``count`` random bytes."""
        if self._key is None:
            return secrets.token_bytes(count)
        while len(self._pool) < count:
            self._counter += 1
            block = hashlib.sha256(self._key + self._counter.to_bytes(8, "big")).digest()
            self._pool += block
        out, self._pool = self._pool[:count], self._pool[count:]
        return out

    def below(self, bound: int) -> int:
        """A uniform integer in ``[0, bound)`` (rejection sampling, no modulo bias)."""
        width = (bound.bit_length() + 7) // 8 + 8
        limit = (1 << (8 * width)) // bound * bound
        while True:
            value = int.from_bytes(self.bytes(width), "big")
            if value < limit:
                return value % bound
