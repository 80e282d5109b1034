"""Scaling exponents: the least-squares slope of log(time) on log(records). 1.0 = linear, 2.0 = quadratic."""

from __future__ import annotations

import math
from collections.abc import Sequence


def loglog_slope(records: Sequence[float], seconds: Sequence[float]) -> float | None:
    """Slope b of log y = a + b log x over the positive pairs; None with fewer than two distinct x."""
    pairs = [(math.log(x), math.log(y)) for x, y in zip(records, seconds, strict=True) if x > 0 and y > 0]
    if len({x for x, _ in pairs}) < 2:
        return None
    mean_x = sum(x for x, _ in pairs) / len(pairs)
    mean_y = sum(y for _, y in pairs) / len(pairs)
    sxx = sum((x - mean_x) ** 2 for x, _ in pairs)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in pairs)
    return sxy / sxx
