"""Summary statistics of timing samples, computed with numpy.

Percentiles use numpy's default linear interpolation between the closest ranks (method 7 of
Hyndman and Fan, the one spreadsheets use): for ``n`` sorted samples the ``q``-th percentile
sits at rank ``(n - 1) * q / 100``. The standard deviation is the sample one (``ddof=1``) and is
0 for a single sample. The IQR is ``p75 - p25``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

FIELDS = ("count", "min", "median", "mean", "p95", "p99", "stdev", "iqr")


@dataclass(frozen=True)
class Summary:
    """The statistics of one series of samples (same unit as the samples)."""

    count: int
    min: float
    median: float
    mean: float
    p95: float
    p99: float
    stdev: float
    iqr: float

    def as_dict(self) -> dict[str, float | int]:
        """The fields by name, in :data:`FIELDS` order."""
        return asdict(self)

    def scaled(self, factor: float) -> Summary:
        """The same statistics in another unit (``count`` unchanged)."""
        values = {name: getattr(self, name) * factor for name in FIELDS[1:]}
        return Summary(count=self.count, **values)


def summarize(samples: Sequence[float] | np.ndarray) -> Summary:
    """count, min, median, mean, p95, p99, stdev and IQR of ``samples``.

    Raises:
        ValueError: no samples, or a sample that is not a finite number.
    """
    values = np.asarray(samples, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("statistics need a non-empty one-dimensional series of samples")
    if not np.all(np.isfinite(values)):
        raise ValueError("statistics need finite samples")

    p25, median, p75, p95, p99 = np.percentile(values, [25, 50, 75, 95, 99])
    stdev = float(np.std(values, ddof=1)) if values.size > 1 else 0.0
    return Summary(
        count=int(values.size),
        min=float(values.min()),
        median=float(median),
        mean=float(values.mean()),
        p95=float(p95),
        p99=float(p99),
        stdev=stdev,
        iqr=float(p75 - p25),
    )


def ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator``, or ``None`` when the denominator is not positive."""
    return numerator / denominator if denominator > 0 else None
