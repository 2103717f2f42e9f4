"""Direct to the UR controller over RTDE (PyPI ur-rtde 1.6.x): moveJ / moveL with the controller's
TCP set to our gripper's offset. Poses are in the controller's base frame (= our DH base).

Plan, check, execute: plans are sampled with our own kinematics so the safety gate sees the motion
the controller will make: a moveJ is a straight line in joint space on a trapezoidal speed profile
(pose goals are solved with our IK, nearest the current joints, and sent as that joint target, so
what was checked is what moves), a moveL is the straight TCP line sampled every linear_step_m with
IK continuity enforced. Execution sends the move asynchronously and polls the controller until it
ends, so stop() (stopL / stopJ) preempts it; a protective or emergency stop, or the control
script dying, ends it ABORTED. Nothing is sent while the RTDE control script is not running
(NOT_READY). The gripper is a separate backend (Robotiq socket or ROS), so gripper() refuses.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass

import numpy as np

from spatialbot_ros.core.actions import GripperCommand
from spatialbot_ros.core.transforms import make_pose
from spatialbot_ros.core.ur_kinematics import UR5_JOINT_LIMITS, dh_for, ik_nearest
from spatialbot_ros.motion.base import (
    GripperState,
    JointPlan,
    MotionBackendUnavailable,
    MotionResult,
    MotionStatus,
    PlanKind,
    PlanningFailed,
)
from spatialbot_ros.motion.frames import tcp_pose_from_joints, tool0_pose_for_tcp, ur_pose_vector
from spatialbot_ros.motion.joint_trajectory import TrajectoryConfig, plan_linear

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UrRtdeConfig:
    ur_type: str = "ur5"
    tcp_speed_m_s: float = 0.1            # moveL speed and acceleration at speed_scale 1 ...
    tcp_accel_m_s2: float = 0.3
    joint_speed_rad_s: float = 0.5        # ... and moveJ's
    joint_accel_rad_s2: float = 1.0
    max_tcp_speed_m_s: float = 0.25       # hard caps whatever speed_scale asks for
    max_tcp_accel_m_s2: float = 1.2
    max_joint_speed_rad_s: float = 1.05
    max_joint_accel_rad_s2: float = 1.4
    linear_step_m: float = 0.01           # moveL sample spacing for the gate
    joint_step_rad: float = 0.05          # moveJ sample spacing for the gate
    stop_joint_decel_rad_s2: float = 2.0  # stopJ
    stop_tcp_decel_m_s2: float = 10.0     # stopL
    start_tolerance_rad: float = 0.05     # a plan whose start is further from the arm is stale
    goal_tolerance_rad: float = 0.01      # moveJ end: joints within this of the target
    goal_tolerance_m: float = 0.002       # moveL end: TCP within this of the target ...
    goal_tolerance_angle_rad: float = 0.01
    start_timeout_s: float = 1.0          # the controller must report the move running by then
    timeout_margin_s: float = 5.0         # beyond 1.5x the planned duration
    poll_period_s: float = 0.005

    def __post_init__(self) -> None:
        dh_for(self.ur_type)  # raises for an unknown arm
        for name in ("tcp_speed_m_s", "tcp_accel_m_s2", "joint_speed_rad_s", "joint_accel_rad_s2",
                     "max_tcp_speed_m_s", "max_tcp_accel_m_s2", "max_joint_speed_rad_s", "max_joint_accel_rad_s2",
                     "linear_step_m", "joint_step_rad", "poll_period_s"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"ur_rtde: {name} must be a positive number, got {v!r}")


@dataclass(frozen=True)
class RtdeMove:
    """What execute() sends: moveJ(target joints) or moveL(target [x, y, z, rx, ry, rz])."""

    command: str          # "moveJ" | "moveL"
    target: tuple[float, ...]
    speed: float
    accel: float


def scaled_limit(base: float, speed_scale: float, cap: float) -> float:
    """base * speed_scale, capped; speed_scale must be a positive number."""
    if not (isinstance(speed_scale, (int, float)) and math.isfinite(speed_scale) and speed_scale > 0):
        raise PlanningFailed(MotionResult(MotionStatus.REFUSED, f"speed_scale must be a positive number, got {speed_scale!r}",
                                          cause="invalid_command"))
    return min(float(base) * float(speed_scale), float(cap))


def trapezoid_times(s: np.ndarray, length: float, v: float, a: float) -> np.ndarray:
    """Time at which a rest-to-rest trapezoidal (or triangular) profile over `length` with speed v
    and acceleration a reaches each distance s (0 < s <= length)."""
    s = np.asarray(s, float)
    d_acc = v * v / (2.0 * a)
    if 2.0 * d_acc >= length:                       # never reaches v: triangular
        total = 2.0 * math.sqrt(length / a)
        return np.where(s <= length / 2, np.sqrt(2.0 * s / a), total - np.sqrt(np.maximum(2.0 * (length - s) / a, 0.0)))
    t_acc = v / a
    total = 2.0 * t_acc + (length - 2.0 * d_acc) / v
    return np.where(s <= d_acc, np.sqrt(2.0 * s / a),
                    np.where(s <= length - d_acc, t_acc + (s - d_acc) / v,
                             total - np.sqrt(np.maximum(2.0 * (length - s) / a, 0.0))))


class UrRtdeBackend:
    """MotionBackend over ur_rtde's RTDEControlInterface / RTDEReceiveInterface."""

    name = "ur_rtde"
    config_type = UrRtdeConfig   # flat parameters fill it (motion/registry.py)

    def __init__(self, robot_ip: str, tcp_offset_m: float, config: UrRtdeConfig | None = None) -> None:
        try:
            import rtde_control
            import rtde_receive
        except ImportError as exc:
            raise MotionBackendUnavailable("ur_rtde backend needs the ur-rtde package: pip install ur-rtde==1.6.5") from exc
        if not robot_ip:
            raise ValueError("ur_rtde: robot_ip is required")
        if not math.isfinite(tcp_offset_m) or tcp_offset_m < 0:
            raise ValueError(f"ur_rtde: tcp_offset_m must be a finite length >= 0, got {tcp_offset_m!r}")
        self.cfg = config or UrRtdeConfig()
        self.tcp_offset_m = float(tcp_offset_m)
        self.dh = dh_for(self.cfg.ur_type)
        self._io = threading.Lock()            # ur_rtde calls from the executive and from stop()
        self._stop = threading.Event()
        self._active: str | None = None        # the command in flight, for the matching stop
        self._ctrl = rtde_control.RTDEControlInterface(robot_ip)
        self._recv = rtde_receive.RTDEReceiveInterface(robot_ip)
        if not self._ctrl.setTcp([0.0, 0.0, self.tcp_offset_m, 0.0, 0.0, 0.0]):
            raise RuntimeError("ur_rtde: the controller refused setTcp")

    # -- state ----------------------------------------------------------------------------
    def current_joints(self) -> np.ndarray:
        with self._io:
            return np.asarray(self._recv.getActualQ(), float)

    def current_pose(self) -> np.ndarray:
        """base_from_tcp as the controller reports it (its TCP is set to ours)."""
        from scipy.spatial.transform import Rotation

        with self._io:
            p = list(self._recv.getActualTCPPose())
        return make_pose(p[:3], Rotation.from_rotvec(p[3:]))

    # -- planning -------------------------------------------------------------------------
    def _q0(self, q_start: np.ndarray | None) -> np.ndarray:
        """The arm's joints now, or q_start (a dry run walking a task from its shadow state)."""
        if q_start is None:
            return self.current_joints()
        q = np.asarray(q_start, float)
        if q.shape != (6,) or not np.all(np.isfinite(q)):
            raise PlanningFailed(MotionResult(MotionStatus.REFUSED, f"q_start must be 6 finite values, got {q}",
                                              cause="invalid_command"))
        return q

    def _joint_move_plan(self, kind: PlanKind, q0: np.ndarray, q_target: np.ndarray, speed_scale: float,
                         target_tcp: np.ndarray | None) -> JointPlan:
        v = scaled_limit(self.cfg.joint_speed_rad_s, speed_scale, self.cfg.max_joint_speed_rad_s)
        a = scaled_limit(self.cfg.joint_accel_rad_s2, speed_scale, self.cfg.max_joint_accel_rad_s2)
        dq = q_target - q0
        length = float(np.max(np.abs(dq)))   # moveJ: the leading joint sets the profile
        n = int(math.ceil(length / self.cfg.joint_step_rad)) if length > 0 else 0
        s = length * np.arange(1, n + 1) / max(n, 1)
        positions = q0 + np.outer(s / length, dq) if n else np.zeros((0, 6))
        times = trapezoid_times(s, length, v, a) if n else np.zeros(0)
        move = RtdeMove("moveJ", tuple(float(x) for x in q_target), v, a)
        return JointPlan(kind, q0, positions, times, float(speed_scale), target_tcp, native=move)

    def plan_joints(self, q: np.ndarray, speed_scale: float = 1.0, q_start: np.ndarray | None = None) -> JointPlan:
        q = np.asarray(q, float)
        if q.shape != (6,) or not np.all(np.isfinite(q)):
            raise PlanningFailed(MotionResult(MotionStatus.REFUSED, f"joint target must be 6 finite values, got {q}",
                                              cause="invalid_command"))
        return self._joint_move_plan(PlanKind.JOINTS, self._q0(q_start), q, speed_scale, None)

    def plan_pose(self, base_from_tcp: np.ndarray, speed_scale: float = 1.0,
                  q_start: np.ndarray | None = None) -> JointPlan:
        q0 = self._q0(q_start)
        q = ik_nearest(tool0_pose_for_tcp(base_from_tcp, self.tcp_offset_m), q0, self.dh, UR5_JOINT_LIMITS)
        if q is None:
            raise PlanningFailed(MotionResult(MotionStatus.UNREACHABLE, "no IK solution within joint limits", cause="no_ik"))
        return self._joint_move_plan(PlanKind.POSE, q0, q, speed_scale, np.asarray(base_from_tcp, float))

    def plan_linear(self, base_from_tcp: np.ndarray, speed_scale: float = 1.0,
                    q_start: np.ndarray | None = None) -> JointPlan:
        from scipy.spatial.transform import Rotation

        v = scaled_limit(self.cfg.tcp_speed_m_s, speed_scale, self.cfg.max_tcp_speed_m_s)
        a = scaled_limit(self.cfg.tcp_accel_m_s2, speed_scale, self.cfg.max_tcp_accel_m_s2)
        goal = np.asarray(base_from_tcp, float)
        q0 = self._q0(q_start)
        # from the controller's own TCP pose when planning from now; from our FK for a dry-run start
        start = self.current_pose() if q_start is None else tcp_pose_from_joints(q0, self.tcp_offset_m, self.dh)
        traj_cfg = TrajectoryConfig(tcp_offset_m=self.tcp_offset_m, linear_step_m=self.cfg.linear_step_m)
        waypoints = plan_linear(q0, start, goal, traj_cfg, self.dh)
        if waypoints is None:
            raise PlanningFailed(MotionResult(MotionStatus.UNREACHABLE,
                                              "the straight line leaves the reachable space or flips configuration",
                                              cause="no_ik"))
        # the controller's tool speed governs translation, and rotation where the move is mostly one
        dist = float(np.linalg.norm(goal[:3, 3] - start[:3, 3]))
        angle = float(np.linalg.norm(Rotation.from_matrix(goal[:3, :3] @ start[:3, :3].T).as_rotvec()))
        length = max(dist, angle)
        move = RtdeMove("moveL", tuple(ur_pose_vector(goal)), v, a)
        if length <= 1e-9:
            return JointPlan(PlanKind.LINEAR, q0, np.zeros((0, 6)), np.zeros(0), float(speed_scale), goal, native=move)
        s = length * np.arange(1, len(waypoints) + 1) / len(waypoints)
        return JointPlan(PlanKind.LINEAR, q0, waypoints, trapezoid_times(s, length, v, a), float(speed_scale), goal,
                         native=move)

    # -- execution ------------------------------------------------------------------------
    def _not_ready(self) -> MotionResult | None:
        with self._io:
            running = self._ctrl.isProgramRunning()
            estopped = self._recv.isEmergencyStopped()
            pstopped = self._recv.isProtectiveStopped()
        if estopped:
            return MotionResult(MotionStatus.NOT_READY, "the robot is emergency-stopped", cause="emergency_stop")
        if pstopped:
            return MotionResult(MotionStatus.NOT_READY, "the robot is protective-stopped: unlock it on the pendant",
                                cause="protective_stop")
        if not running:
            return MotionResult(MotionStatus.NOT_READY, "the RTDE control script is not running on the controller "
                                "(remote control mode, program stopped?)", cause="program_not_running")
        return None

    def _reached(self, plan: JointPlan, move: RtdeMove) -> tuple[bool, str]:
        if move.command == "moveJ":
            err = float(np.max(np.abs(self.current_joints() - np.asarray(move.target))))
            return err <= self.cfg.goal_tolerance_rad, f"{err:.4f} rad"
        from scipy.spatial.transform import Rotation

        pose, goal = self.current_pose(), np.asarray(plan.target_tcp, float)
        d = float(np.linalg.norm(pose[:3, 3] - goal[:3, 3]))
        ang = float(np.linalg.norm(Rotation.from_matrix(goal[:3, :3] @ pose[:3, :3].T).as_rotvec()))
        return d <= self.cfg.goal_tolerance_m and ang <= self.cfg.goal_tolerance_angle_rad, f"{d * 1000:.1f} mm, {ang:.3f} rad"

    def execute(self, plan: JointPlan) -> MotionResult:
        move = plan.native
        if not isinstance(move, RtdeMove):
            return MotionResult(MotionStatus.REFUSED, "plan was not made by ur_rtde", cause="foreign_plan")
        self._stop.clear()
        not_ready = self._not_ready()
        if not_ready is not None:
            return not_ready
        offset = float(np.max(np.abs(self.current_joints() - plan.q_start)))
        if offset > self.cfg.start_tolerance_rad:
            return MotionResult(MotionStatus.REFUSED, f"the arm is {offset:.3f} rad from the plan's start: replan",
                                cause="stale_plan")
        if len(plan.positions) == 0:
            return MotionResult(MotionStatus.SUCCEEDED, "already there")
        with self._io:
            if self._stop.is_set():      # stop() came before the move: send nothing
                return MotionResult(MotionStatus.ABORTED, "stopped", cause="stopped")
            before = self._ctrl.getAsyncOperationProgressEx().operationId()
            self._active = move.command
            send = self._ctrl.moveJ if move.command == "moveJ" else self._ctrl.moveL
            accepted = send(list(move.target), move.speed, move.accel, True)
        if not accepted:
            self._active = None
            return MotionResult(MotionStatus.ABORTED, f"the controller rejected {move.command}", cause="rejected")
        try:
            return self._wait_for_end(plan, move, before)
        finally:
            self._active = None

    def _wait_for_end(self, plan: JointPlan, move: RtdeMove, op_before: int) -> MotionResult:
        t0 = time.monotonic()
        deadline = t0 + 1.5 * plan.duration_s + self.cfg.timeout_margin_s
        started = False
        while True:
            if self._stop.is_set():
                return MotionResult(MotionStatus.ABORTED, "stopped", cause="stopped")
            with self._io:
                status = self._ctrl.getAsyncOperationProgressEx()
                running = status.isAsyncOperationRunning()
                op_id = status.operationId()
                program = self._ctrl.isProgramRunning()
                pstopped = self._recv.isProtectiveStopped()
                estopped = self._recv.isEmergencyStopped()
            if estopped or pstopped:
                what = "emergency" if estopped else "protective"
                return MotionResult(MotionStatus.ABORTED, f"{what} stop during {move.command}", cause=f"{what}_stop")
            if not program:
                return MotionResult(MotionStatus.ABORTED, f"the control script stopped during {move.command}",
                                    cause="program_not_running")
            started = started or running or op_id != op_before
            if started and not running:
                break
            now = time.monotonic()
            if not started and now - t0 > self.cfg.start_timeout_s:
                reached, _ = self._reached(plan, move)
                if reached:   # so short it ended between two polls
                    break
                return MotionResult(MotionStatus.ABORTED, f"{move.command} never started on the controller",
                                    cause="not_started")
            if now > deadline:
                self.stop()
                return MotionResult(MotionStatus.ABORTED, f"{move.command} did not end within "
                                    f"{deadline - t0:.1f} s", cause="timeout")
            time.sleep(self.cfg.poll_period_s)
        reached, err = self._reached(plan, move)
        if not reached:
            return MotionResult(MotionStatus.ABORTED, f"{move.command} ended {err} from its target", cause="not_reached")
        return MotionResult(MotionStatus.SUCCEEDED)

    # -- gripper and stop -----------------------------------------------------------------
    def gripper(self, command: GripperCommand, force_n: float | None = None) -> MotionResult:
        return MotionResult(MotionStatus.REFUSED, "ur_rtde drives the arm; configure a gripper backend "
                            "(Robotiq socket or ROS)", cause="no_gripper")

    def gripper_state(self) -> GripperState:
        return GripperState(float("nan"), False)

    def stop(self) -> None:
        """Decelerate the move in flight (stopL for moveL, stopJ otherwise); execute() returns ABORTED."""
        self._stop.set()
        with self._io:
            if self._active == "moveL":
                self._ctrl.stopL(self.cfg.stop_tcp_decel_m_s2)
            else:
                self._ctrl.stopJ(self.cfg.stop_joint_decel_rad_s2)
