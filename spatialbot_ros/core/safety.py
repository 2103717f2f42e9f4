"""Safety limits, on by default: workspace box, per-step and speed limits, joint limits, NaN/inf
refusal, a latched e-stop and a watchdog. Every check raises SafetyViolation with a reason."""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields

import numpy as np
from scipy.spatial.transform import Rotation

from spatialbot_ros.core.actions import EEAction
from spatialbot_ros.core.errors import SpatialBotError
from spatialbot_ros.core.ur_kinematics import UR5_JOINT_LIMITS


class SafetyReason(enum.Enum):
    OUT_OF_WORKSPACE = "out_of_workspace"
    STEP_TOO_LARGE = "step_too_large"
    ROTATION_TOO_LARGE = "rotation_too_large"
    TOO_FAST = "too_fast"
    JOINT_LIMIT = "joint_limit"
    NOT_FINITE = "not_finite"
    ESTOPPED = "estopped"
    STALE_INPUT = "stale_input"
    NOT_ARMED = "not_armed"


class SafetyViolation(SpatialBotError):
    def __init__(self, reason: SafetyReason, message: str) -> None:
        self.reason = reason
        super().__init__(f"{reason.value}: {message}")


@dataclass(frozen=True)
class SafetyLimits:
    """Limits for the TCP in the robot base frame (metres, radians, seconds)."""

    workspace_min_m: tuple[float, float, float] = (0.15, -0.6, 0.005)
    workspace_max_m: tuple[float, float, float] = (0.85, 0.6, 0.8)
    max_step_translation_m: float = 0.05
    max_step_rotation_rad: float = 0.35
    max_tcp_speed_m_s: float = 0.25
    max_joint_speed_rad_s: float = 1.2
    joint_limits_rad: tuple[tuple[float, float], ...] = field(
        default_factory=lambda: tuple(tuple(map(float, row)) for row in UR5_JOINT_LIMITS))

    def __post_init__(self) -> None:
        lo, hi = np.asarray(self.workspace_min_m, float), np.asarray(self.workspace_max_m, float)
        if lo.shape != (3,) or hi.shape != (3,) or not np.all(np.isfinite(lo)) or not np.all(np.isfinite(hi)):
            raise ValueError("safety: workspace_min_m and workspace_max_m must be 3 finite numbers each")
        if np.any(lo >= hi):
            raise ValueError(f"safety: workspace_min_m {lo.tolist()} must be below workspace_max_m {hi.tolist()}")
        for name in ("max_step_translation_m", "max_step_rotation_rad", "max_tcp_speed_m_s", "max_joint_speed_rad_s"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"safety: {name} must be a positive number, got {v!r}")
        if len(self.joint_limits_rad) != 6 or any(a >= b for a, b in self.joint_limits_rad):
            raise ValueError("safety: joint_limits_rad must be 6 (lower, upper) pairs with lower < upper")

    @classmethod
    def from_dict(cls, values: dict) -> SafetyLimits:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"safety: unknown limit(s) {sorted(unknown)}; known: {sorted(known)}")
        conv = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        if "joint_limits_rad" in conv:
            conv["joint_limits_rad"] = tuple(tuple(p) for p in conv["joint_limits_rad"])
        return cls(**conv)


def _finite(name: str, value: np.ndarray) -> None:
    if not np.all(np.isfinite(np.asarray(value, dtype=float))):
        raise SafetyViolation(SafetyReason.NOT_FINITE, f"{name} contains NaN or inf")


class SafetyChecker:
    def __init__(self, limits: SafetyLimits | None = None) -> None:
        self.limits = limits or SafetyLimits()
        self._joint_limits = np.asarray(self.limits.joint_limits_rad, dtype=float)

    def check_pose(self, base_from_tcp: np.ndarray) -> None:
        T = np.asarray(base_from_tcp, dtype=float)
        if T.shape != (4, 4):
            raise SafetyViolation(SafetyReason.NOT_FINITE, f"pose must be 4x4, got {T.shape}")
        _finite("target pose", T)
        if abs(np.linalg.det(T[:3, :3]) - 1.0) > 1e-3:
            raise SafetyViolation(SafetyReason.NOT_FINITE, "target pose rotation is not a rotation matrix")
        p = T[:3, 3]
        lo, hi = np.asarray(self.limits.workspace_min_m), np.asarray(self.limits.workspace_max_m)
        bad = [f"{ax}={v:.3f} not in [{a:.3f}, {b:.3f}]" for ax, v, a, b in zip("xyz", p, lo, hi, strict=True)
               if not a <= v <= b]
        if bad:
            raise SafetyViolation(SafetyReason.OUT_OF_WORKSPACE, "TCP target outside the workspace box: " + ", ".join(bad))

    def check_delta(self, action: EEAction) -> None:
        _finite("delta translation", action.delta_translation_m)
        _finite("delta rotation", action.delta_rotvec)
        t = float(np.linalg.norm(action.delta_translation_m))
        r = float(np.linalg.norm(action.delta_rotvec))
        if t > self.limits.max_step_translation_m + 1e-9:
            raise SafetyViolation(SafetyReason.STEP_TOO_LARGE,
                                  f"step of {t:.3f} m exceeds {self.limits.max_step_translation_m:.3f} m")
        if r > self.limits.max_step_rotation_rad + 1e-9:
            raise SafetyViolation(SafetyReason.ROTATION_TOO_LARGE,
                                  f"rotation of {r:.3f} rad exceeds {self.limits.max_step_rotation_rad:.3f} rad")

    def clip_action(self, action: EEAction) -> EEAction:
        _finite("delta translation", action.delta_translation_m)
        _finite("delta rotation", action.delta_rotvec)
        t, r = np.asarray(action.delta_translation_m, float), np.asarray(action.delta_rotvec, float)
        tn, rn = np.linalg.norm(t), np.linalg.norm(r)
        if tn > self.limits.max_step_translation_m:
            t = t * self.limits.max_step_translation_m / tn
        if rn > self.limits.max_step_rotation_rad:
            r = r * self.limits.max_step_rotation_rad / rn
        return EEAction(t, r, action.gripper)

    def check_speed(self, distance_m: float, duration_s: float) -> None:
        if not (math.isfinite(distance_m) and math.isfinite(duration_s)):
            raise SafetyViolation(SafetyReason.NOT_FINITE, "distance or duration is not finite")
        if duration_s <= 0 or distance_m / duration_s > self.limits.max_tcp_speed_m_s + 1e-9:
            speed = math.inf if duration_s <= 0 else distance_m / duration_s
            raise SafetyViolation(SafetyReason.TOO_FAST,
                                  f"TCP speed {speed:.3f} m/s exceeds {self.limits.max_tcp_speed_m_s:.3f} m/s")

    def check_joint_target(self, q: np.ndarray, q_now: np.ndarray | None = None, duration_s: float | None = None) -> None:
        q = np.asarray(q, dtype=float)
        if q.shape != (6,):
            raise SafetyViolation(SafetyReason.NOT_FINITE, f"joint target must have 6 values, got {q.shape}")
        _finite("joint target", q)
        lo, hi = self._joint_limits[:, 0], self._joint_limits[:, 1]
        out = np.nonzero((q < lo) | (q > hi))[0]
        if out.size:
            j = int(out[0])
            raise SafetyViolation(SafetyReason.JOINT_LIMIT,
                                  f"joint {j} target {q[j]:.3f} rad outside [{lo[j]:.3f}, {hi[j]:.3f}]")
        if q_now is not None and duration_s is not None:
            q_now = np.asarray(q_now, dtype=float)
            _finite("current joints", q_now)
            if duration_s <= 0:
                raise SafetyViolation(SafetyReason.TOO_FAST, "joint motion with non-positive duration")
            speed = float(np.max(np.abs(q - q_now))) / duration_s
            if speed > self.limits.max_joint_speed_rad_s + 1e-9:
                raise SafetyViolation(SafetyReason.TOO_FAST,
                                      f"joint speed {speed:.3f} rad/s exceeds {self.limits.max_joint_speed_rad_s:.3f} rad/s")

    def check_joint_trajectory(self, positions: np.ndarray, times: np.ndarray) -> None:
        P, t = np.asarray(positions, float), np.asarray(times, float)
        if P.ndim != 2 or P.shape[1] != 6 or t.shape != (P.shape[0],):
            raise SafetyViolation(SafetyReason.NOT_FINITE, f"trajectory shapes {P.shape}, {t.shape} are not (N,6), (N,)")
        _finite("trajectory", P)
        _finite("trajectory times", t)
        if np.any(np.diff(t) <= 0):
            raise SafetyViolation(SafetyReason.TOO_FAST, "trajectory times must increase strictly")
        for i in range(len(P)):
            self.check_joint_target(P[i], P[i - 1] if i else None, (t[i] - t[i - 1]) if i else None)

    def check_pose_step(self, current: np.ndarray, target: np.ndarray) -> None:
        """A pose target reached in one step must respect the per-step limits too."""
        t = float(np.linalg.norm(np.asarray(target)[:3, 3] - np.asarray(current)[:3, 3]))
        r = float(np.linalg.norm(Rotation.from_matrix(target[:3, :3] @ current[:3, :3].T).as_rotvec()))
        self.check_delta(EEAction(np.array([t, 0, 0]), np.array([r, 0, 0])))


@dataclass
class EStop:
    """Latched: once engaged it stays engaged until reset() is called explicitly."""

    engaged: bool = False
    reason: str = ""

    def engage(self, reason: str = "e-stop") -> None:
        self.engaged, self.reason = True, reason

    def reset(self) -> None:
        self.engaged, self.reason = False, ""

    def check(self) -> None:
        if self.engaged:
            raise SafetyViolation(SafetyReason.ESTOPPED, self.reason or "e-stop engaged")


@dataclass
class Watchdog:
    """Expires when feed() has not been called for timeout_s (stale camera, lost controller)."""

    timeout_s: float
    clock: Callable[[], float] = time.monotonic
    _last: float | None = None

    def __post_init__(self) -> None:
        if not (self.timeout_s > 0):
            raise ValueError(f"watchdog timeout must be positive, got {self.timeout_s}")

    def feed(self) -> None:
        self._last = self.clock()

    def age_s(self) -> float:
        return math.inf if self._last is None else self.clock() - self._last

    def expired(self) -> bool:
        return self.age_s() > self.timeout_s

    def check(self) -> None:
        if self.expired():
            raise SafetyViolation(SafetyReason.STALE_INPUT, f"no fresh input for {self.age_s():.2f} s "
                                  f"(limit {self.timeout_s:.2f} s)")
