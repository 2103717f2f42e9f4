"""Safety limits, on by default: workspace box, per-step, speed and travel limits, joint limits,
NaN/inf refusal, a latched e-stop and a watchdog. Every check raises SafetyViolation with a reason.

This module is the one implementation of every check; the safety gate (motion/safety_gate.py)
applies them to each planned motion before anything is executed."""

from __future__ import annotations

import enum
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
from scipy.spatial.transform import Rotation

from spatialbot_ros.core.actions import EEAction
from spatialbot_ros.core.errors import SpatialBotError
from spatialbot_ros.core.kinematics import ArmKinematics
from spatialbot_ros.core.ur_kinematics import UR5_DH

log = logging.getLogger(__name__)


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
    TRAVEL_TOO_LONG = "travel_too_long"  # one command moves the TCP further than max_travel_per_move_m
    INVALID_COMMAND = "invalid_command"  # malformed: wrong shape, not a rotation, speed_scale outside (0, 1]


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
    # TCP path length of one command: the executive's own moves (5 cm policy steps, the observe
    # pose from anywhere over the table) stay well below; a 0.7 m jump across the table does not
    max_travel_per_move_m: float = 0.6
    # None: the arm's own limits (core.kinematics); set, one (lower, upper) pair per joint of the arm
    joint_limits_rad: tuple[tuple[float, float], ...] | None = None

    def __post_init__(self) -> None:
        lo, hi = np.asarray(self.workspace_min_m, float), np.asarray(self.workspace_max_m, float)
        if lo.shape != (3,) or hi.shape != (3,) or not np.all(np.isfinite(lo)) or not np.all(np.isfinite(hi)):
            raise ValueError("safety: workspace_min_m and workspace_max_m must be 3 finite numbers each")
        if np.any(lo >= hi):
            raise ValueError(f"safety: workspace_min_m {lo.tolist()} must be below workspace_max_m {hi.tolist()}")
        for name in ("max_step_translation_m", "max_step_rotation_rad", "max_tcp_speed_m_s", "max_joint_speed_rad_s",
                     "max_travel_per_move_m"):
            v = getattr(self, name)
            if isinstance(v, bool) or not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"safety: {name} must be a positive finite number, got {v!r}")
        if self.joint_limits_rad is None:
            return
        try:
            jl = np.asarray(self.joint_limits_rad, dtype=float)
        except (TypeError, ValueError):
            raise ValueError("safety: joint_limits_rad must be (lower, upper) pairs of numbers, one per joint") from None
        if jl.ndim != 2 or jl.shape[1] != 2 or len(jl) < 1 or not np.all(np.isfinite(jl)):
            raise ValueError(f"safety: joint_limits_rad must be finite (lower, upper) pairs, got {jl.tolist()}")
        if np.any(jl[:, 0] >= jl[:, 1]):
            raise ValueError("safety: joint_limits_rad must be (lower, upper) pairs with lower < upper")

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


def _rotation_error(R: np.ndarray) -> float:
    """How far a 3x3 is from a proper rotation: max |R^T R - I| (0 for a rotation), inf for det <= 0."""
    if np.linalg.det(R) <= 0:
        return math.inf
    return float(np.max(np.abs(R.T @ R - np.eye(3))))


ROTATION_TOLERANCE = 1e-4        # |R^T R - I| accepted (float32 round trips stay far below)
PATH_SAMPLE_RAD = 0.02           # joint-space interpolation step when sampling the TCP path (about 1 cm)
PLAN_START_TOLERANCE_RAD = 0.05  # a plan must start where the arm is
TARGET_TOLERANCE_M = 0.01        # a plan's last waypoint must reach its target_tcp (same kinematics)


@dataclass(frozen=True)
class TcpPath:
    """The TCP along a joint path: points (M, 3) sampled densely between waypoints, and for each
    waypoint segment its index range into points and its TCP path length."""

    points: np.ndarray
    segment_ends: np.ndarray       # (N,) index into points of each waypoint
    segment_lengths_m: np.ndarray  # (N,) TCP path length from the previous waypoint

    @property
    def length_m(self) -> float:
        return float(np.sum(self.segment_lengths_m))


def tcp_path(q_start: np.ndarray, positions: np.ndarray, tcp_offset_m: float, arm: ArmKinematics = UR5_DH,
             sample_rad: float = PATH_SAMPLE_RAD) -> TcpPath:
    """Forward kinematics of the TCP along straight joint-space segments q_start -> positions[0] -> ...,
    sampled every sample_rad of the largest joint change: what a controller interpolating between
    waypoints sweeps, not only the waypoints themselves."""
    pts_q = np.vstack([np.asarray(q_start, float)[None], np.asarray(positions, float)])
    tool0_from_tcp = np.eye(4)
    tool0_from_tcp[2, 3] = float(tcp_offset_m)
    points = [(arm.fk(pts_q[0]) @ tool0_from_tcp)[:3, 3]]
    ends, lengths = [], []
    for a, b in zip(pts_q[:-1], pts_q[1:], strict=True):
        n = max(1, int(math.ceil(float(np.max(np.abs(b - a))) / sample_rad)))
        seg = [(arm.fk(a + (b - a) * (k / n)) @ tool0_from_tcp)[:3, 3] for k in range(1, n + 1)]
        lengths.append(float(np.sum(np.linalg.norm(np.diff(np.vstack([points[-1][None], seg]), axis=0), axis=1))))
        points.extend(seg)
        ends.append(len(points) - 1)
    return TcpPath(np.array(points), np.array(ends, dtype=int), np.array(lengths))


class SafetyChecker:
    """The one implementation of every motion check; raises SafetyViolation naming the reason."""

    def __init__(self, limits: SafetyLimits | None = None) -> None:
        self.limits = limits or SafetyLimits()
        self._lo = np.asarray(self.limits.workspace_min_m, dtype=float)
        self._hi = np.asarray(self.limits.workspace_max_m, dtype=float)

    # -- single values --------------------------------------------------------------------
    def check_speed_scale(self, speed_scale: object) -> float:
        """A finite number in (0, 1]: 0, negative, 100 or NaN must never reach a planner."""
        if isinstance(speed_scale, bool) or not isinstance(speed_scale, (int, float, np.floating, np.integer)):
            raise SafetyViolation(SafetyReason.INVALID_COMMAND, f"speed_scale must be a number, got {speed_scale!r}")
        s = float(speed_scale)
        if not math.isfinite(s):
            raise SafetyViolation(SafetyReason.NOT_FINITE, f"speed_scale is {s}")
        if not 0.0 < s <= 1.0:
            raise SafetyViolation(SafetyReason.INVALID_COMMAND, f"speed_scale {s} outside (0, 1]")
        return s

    def check_position(self, xyz: np.ndarray, what: str = "TCP target") -> None:
        p = np.asarray(xyz, dtype=float).reshape(-1)[:3]
        _finite(what, p)
        bad = [f"{ax}={v:.3f} not in [{a:.3f}, {b:.3f}]" for ax, v, a, b in zip("xyz", p, self._lo, self._hi, strict=True)
               if not a <= v <= b]
        if bad:
            raise SafetyViolation(SafetyReason.OUT_OF_WORKSPACE, f"{what} outside the workspace box: " + ", ".join(bad))

    def check_pose(self, base_from_tcp: np.ndarray) -> None:
        """Finite 4x4 rigid transform (orthonormal rotation, det +1, bottom row 0 0 0 1) in the workspace."""
        T = np.asarray(base_from_tcp, dtype=float)
        if T.shape != (4, 4):
            raise SafetyViolation(SafetyReason.INVALID_COMMAND, f"pose must be 4x4, got {T.shape}")
        _finite("target pose", T)
        if not np.allclose(T[3], [0.0, 0.0, 0.0, 1.0], atol=1e-9):
            raise SafetyViolation(SafetyReason.INVALID_COMMAND, f"pose bottom row {T[3].tolist()} is not 0 0 0 1")
        err = _rotation_error(T[:3, :3])
        if err > ROTATION_TOLERANCE:
            raise SafetyViolation(SafetyReason.INVALID_COMMAND,
                                  "target pose rotation is not a rotation matrix (orthonormal, det +1): "
                                  f"|R^T R - I| = {err:.2g}")
        self.check_position(T[:3, 3])

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

    def joint_limits(self, arm: ArmKinematics = UR5_DH) -> np.ndarray:
        """(n, 2): the configured joint limits, else the arm's own; a count that is not the arm's is refused."""
        if self.limits.joint_limits_rad is None:
            return np.asarray(arm.joint_limits, dtype=float)
        jl = np.asarray(self.limits.joint_limits_rad, dtype=float)
        if len(jl) != arm.n_joints:
            raise SafetyViolation(SafetyReason.INVALID_COMMAND, f"safety joint_limits_rad has {len(jl)} pairs; "
                                  f"the {arm.name} has {arm.n_joints} joints")
        return jl

    def check_joint_target(self, q: np.ndarray, q_now: np.ndarray | None = None, duration_s: float | None = None,
                           *, arm: ArmKinematics = UR5_DH) -> None:
        q = np.asarray(q, dtype=float)
        n = arm.n_joints
        if q.shape != (n,):
            raise SafetyViolation(SafetyReason.INVALID_COMMAND, f"joint target must have {n} values, got {q.shape}")
        _finite("joint target", q)
        limits = self.joint_limits(arm)
        lo, hi = limits[:, 0], limits[:, 1]
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

    def check_joint_trajectory(self, positions: np.ndarray, times: np.ndarray, *, arm: ArmKinematics = UR5_DH) -> None:
        P, t = np.asarray(positions, float), np.asarray(times, float)
        n = arm.n_joints
        if P.ndim != 2 or P.shape[1] != n or t.shape != (P.shape[0],):
            raise SafetyViolation(SafetyReason.INVALID_COMMAND,
                                  f"trajectory shapes {P.shape}, {t.shape} are not (N,{n}), (N,)")
        _finite("trajectory", P)
        _finite("trajectory times", t)
        if np.any(np.diff(t) <= 0):
            raise SafetyViolation(SafetyReason.TOO_FAST, "trajectory times must increase strictly")
        for i in range(len(P)):
            self.check_joint_target(P[i], P[i - 1] if i else None, (t[i] - t[i - 1]) if i else None, arm=arm)

    def check_pose_step(self, current: np.ndarray, target: np.ndarray) -> None:
        """A pose target reached in one step must respect the per-step limits too."""
        t = float(np.linalg.norm(np.asarray(target)[:3, 3] - np.asarray(current)[:3, 3]))
        r = float(np.linalg.norm(Rotation.from_matrix(target[:3, :3] @ current[:3, :3].T).as_rotvec()))
        self.check_delta(EEAction(np.array([t, 0, 0]), np.array([r, 0, 0])))

    # -- whole plans ----------------------------------------------------------------------
    def check_plan(self, plan: object, *, tcp_offset_m: float, arm: ArmKinematics = UR5_DH,
                   q_now: np.ndarray | None = None) -> TcpPath:
        """check_joint_path on a motion.base.JointPlan (or anything with q_start, positions,
        times_s and target_tcp): what the safety gate runs before every execution."""
        return self.check_joint_path(plan.q_start, plan.positions, plan.times_s,  # type: ignore[attr-defined]
                                     tcp_offset_m=tcp_offset_m, arm=arm, q_now=q_now,
                                     target_tcp=getattr(plan, "target_tcp", None))

    def check_joint_path(self, q_start: np.ndarray, positions: np.ndarray, times_s: np.ndarray, *,
                         tcp_offset_m: float, arm: ArmKinematics = UR5_DH, q_now: np.ndarray | None = None,
                         target_tcp: np.ndarray | None = None) -> TcpPath:
        """Everything a planned motion must satisfy before it is executed: finite waypoints inside the
        joint limits, times strictly increasing, joint speed between consecutive waypoints, the TCP
        (forward kinematics, sampled between waypoints) inside the workspace box, TCP speed per
        segment, TCP travel per command; the plan starts where the arm is (q_now) and its last
        waypoint reaches target_tcp. Returns the TCP path it checked."""
        q0 = np.asarray(q_start, dtype=float)
        P, t = np.asarray(positions, dtype=float), np.asarray(times_s, dtype=float)
        n = arm.n_joints
        if q0.shape != (n,) or P.ndim != 2 or P.shape[1] != n or len(P) == 0 or t.shape != (len(P),):
            raise SafetyViolation(SafetyReason.INVALID_COMMAND,
                                  f"plan shapes q_start {q0.shape}, positions {P.shape}, times {t.shape}: "
                                  f"expected ({n},), (N,{n}), (N,) with N >= 1 for the {arm.name}")
        _finite("plan start", q0)
        _finite("plan waypoints", P)
        _finite("plan times", t)
        if q_now is not None:
            off = float(np.max(np.abs(q0 - np.asarray(q_now, float))))
            if off > PLAN_START_TOLERANCE_RAD:
                raise SafetyViolation(SafetyReason.INVALID_COMMAND,
                                      f"plan starts {off:.3f} rad from the arm's joints (limit {PLAN_START_TOLERANCE_RAD})")
        if t[0] < 0 or np.any(np.diff(t) <= 0):
            raise SafetyViolation(SafetyReason.TOO_FAST, "plan times must start at >= 0 and increase strictly")
        if t[0] == 0:  # the first waypoint is the start itself (MoveIt trajectories): nothing to cover in no time
            if float(np.max(np.abs(P[0] - q0))) > 1e-6:
                raise SafetyViolation(SafetyReason.TOO_FAST, "first waypoint at t=0 differs from the start")
            q0, P, t = P[0], P[1:], t[1:]
            if len(P) == 0:
                return tcp_path(q0, q0[None], tcp_offset_m, arm)
        prev_q, prev_t = q0, 0.0
        for q, ti in zip(P, t, strict=True):
            self.check_joint_target(q, prev_q, float(ti - prev_t), arm=arm)
            prev_q, prev_t = q, float(ti)
        path = tcp_path(q0, P, tcp_offset_m, arm)
        inside = np.all((path.points >= self._lo) & (path.points <= self._hi), axis=1)
        if not np.all(inside):
            k = int(np.argmin(inside))
            where = "start" if k == 0 else f"{k / (len(path.points) - 1):.0%} along the path"
            self.check_position(path.points[k], f"TCP at {where}")
        durations = np.diff(np.concatenate([[0.0], t]))
        speeds = path.segment_lengths_m / durations
        j = int(np.argmax(speeds))
        if speeds[j] > self.limits.max_tcp_speed_m_s + 1e-9:
            raise SafetyViolation(SafetyReason.TOO_FAST,
                                  f"TCP speed {speeds[j]:.3f} m/s before waypoint {j} exceeds "
                                  f"{self.limits.max_tcp_speed_m_s:.3f} m/s")
        if path.length_m > self.limits.max_travel_per_move_m + 1e-9:
            raise SafetyViolation(SafetyReason.TRAVEL_TOO_LONG,
                                  f"TCP travels {path.length_m:.3f} m in one command "
                                  f"(limit {self.limits.max_travel_per_move_m:.3f} m)")
        if target_tcp is not None:
            miss = float(np.linalg.norm(path.points[-1] - np.asarray(target_tcp, float)[:3, 3]))
            if miss > TARGET_TOLERANCE_M:
                raise SafetyViolation(SafetyReason.INVALID_COMMAND,
                                      f"plan ends {miss:.3f} m from its target (TCP offset or kinematics mismatch)")
        return path


class EStop:
    """Latched and thread-safe: once engaged it stays engaged until reset() is called explicitly.
    Listeners (e.g. the safety gate stopping the arm) are called on every engage, in the engaging
    thread, so a stop preempts whatever motion is running elsewhere."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._engaged = False
        self._reason = ""
        self._listeners: list[Callable[[str], None]] = []

    @property
    def engaged(self) -> bool:
        return self._engaged

    @property
    def reason(self) -> str:
        return self._reason

    def add_listener(self, listener: Callable[[str], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def engage(self, reason: str = "e-stop") -> None:
        with self._lock:
            self._engaged, self._reason = True, reason or "e-stop"
            listeners = list(self._listeners)
        for listener in listeners:  # outside the lock: a listener may read the state
            try:
                listener(self._reason)
            except Exception:  # noqa: BLE001 - one failing listener must not keep the others from stopping
                log.exception("e-stop listener failed")

    def reset(self) -> None:
        with self._lock:
            self._engaged, self._reason = False, ""

    def check(self) -> None:
        if self._engaged:
            raise SafetyViolation(SafetyReason.ESTOPPED, self._reason or "e-stop engaged")


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
