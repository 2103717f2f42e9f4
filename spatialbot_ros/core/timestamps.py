"""Seconds as ROS (sec, nanosec) pairs, without float rounding carrying into a wrong second."""

from __future__ import annotations

import math


def split_seconds(t: float) -> tuple[int, int]:
    """(sec, nanosec) with 0 <= nanosec < 1e9: the whole nanoseconds are rounded first, so
    0.9999999999 s is (1, 0), not (0, 0) as rounding the fraction alone would give."""
    if not math.isfinite(t):
        raise ValueError(f"time must be finite, got {t}")
    sec, nanosec = divmod(round(t * 1e9), 1_000_000_000)
    return int(sec), int(nanosec)
