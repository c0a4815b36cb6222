"""argparse value types shared by the ``run``, ``bench`` and ``campaign`` commands.

Each turns a bad value into an ``ArgumentTypeError`` whose text argparse prints on one line.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from m2mrsp.hotpath.types import MAX_SEGMENT_PLAINTEXT


def bounded_int(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An integer of at least ``minimum`` (and at most ``maximum`` when given)."""

    def parse(text: str) -> int:
        value = int(text)
        if maximum is not None and not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be {minimum}..{maximum}, not {value}")
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    parse.__name__ = "integer"  # argparse names the type in "invalid integer value: 'x'"
    return parse


positive = bounded_int(1)
count = bounded_int(0)
segment_size = bounded_int(1, MAX_SEGMENT_PLAINTEXT)


def probability(text: str) -> float:
    """A probability in 0..1."""
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a probability in 0..1, not {text}")
    return value


def seconds(text: str) -> float:
    """A positive, finite number of seconds."""
    value = float(text)
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value
