"""Joint trajectory playback for the simulated controller: positions interpolated linearly between
time-stamped points, from where the arm was when the trajectory arrived (like ros2_control's JTC)."""

from __future__ import annotations

import numpy as np


class TrajectoryFollower:
    def __init__(self) -> None:
        self._times: np.ndarray | None = None
        self._points: np.ndarray | None = None
        self._t0 = 0.0

    def start(self, q_now: np.ndarray, positions: np.ndarray, times_s: np.ndarray, t_now: float) -> None:
        positions, times_s = np.asarray(positions, float), np.asarray(times_s, float)
        n = len(np.asarray(q_now))
        if positions.ndim != 2 or positions.shape[1] != n or len(times_s) != len(positions) or len(times_s) == 0:
            raise ValueError(f"trajectory must be (N,{n}) positions with N times, got {positions.shape}, {times_s.shape}")
        if np.any(np.diff(times_s) <= 0) or times_s[0] <= 0 or not np.all(np.isfinite(positions)):
            raise ValueError("trajectory times must be positive and increasing, positions finite")
        self._points = np.vstack([np.asarray(q_now, float)[None], positions])
        self._times = np.concatenate([[0.0], times_s])
        self._t0 = t_now

    @property
    def active(self) -> bool:
        return self._times is not None

    def target(self, t_now: float) -> np.ndarray | None:
        """Joint targets at t_now; None when no trajectory is running (the last target holds)."""
        if self._times is None or self._points is None:
            return None
        t = t_now - self._t0
        if t >= self._times[-1]:
            q = self._points[-1].copy()
            self._times = self._points = None
            return q
        return np.array([np.interp(t, self._times, self._points[:, j]) for j in range(self._points.shape[1])])
