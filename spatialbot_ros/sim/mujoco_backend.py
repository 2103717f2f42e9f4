"""MotionBackend over the simulated cell: closed-form IK to joint targets, straight-line TCP moves
as interpolated IK waypoints, and the force-limited parallel gripper.

It plans and executes and checks nothing: every sim path wraps it in SafeMotion(real_hardware=False),
the one safety gate. Execution steps physics along the plan (a quintic blend per segment, as the cell's
own joint moves) and looks at the stop flag every physics step, so stop() from another thread
preempts within a few milliseconds of simulated time.
"""

from __future__ import annotations

import math
import threading

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from spatialbot_ros.core.actions import GripperCommand
from spatialbot_ros.core.safety import SafetyLimits, tcp_path
from spatialbot_ros.core.ur_kinematics import UR5_JOINT_LIMITS, fk, ik_nearest
from spatialbot_ros.motion.base import (
    GripperState,
    JointPlan,
    MotionResult,
    MotionStatus,
    PlanKind,
    PlanningFailed,
)
from spatialbot_ros.sim.cell import Ur5Cell
from spatialbot_ros.sim.ur5_mjcf import MAX_OPENING_M, TCP_OFFSET_M

MIN_SEGMENT_S = 0.05     # shortest segment the cell's quintic moves use
QUINTIC_PEAK = 1.875     # peak / mean speed of the quintic blend
SETTLE_S = 0.1           # after the last waypoint, before the tracking check
TRACKING_TOL_RAD = 0.03  # joints this close to the last waypoint: the motion succeeded


class MujocoMotionBackend:
    """Plans and executes motions in the MuJoCo cell (the MotionBackend protocol)."""

    name = "mujoco"

    def __init__(self, cell: Ur5Cell, linear_step_m: float = 0.01, max_joint_jump_rad: float = 0.5,
                 max_tcp_speed_m_s: float = 0.9 * SafetyLimits().max_tcp_speed_m_s) -> None:
        """max_tcp_speed_m_s: the planner slows segments whose TCP would move faster (joint moves
        across the table); the safety gate checks the result against its own limit."""
        self.cell = cell
        self.max_tcp_speed_m_s = max_tcp_speed_m_s
        self.dh = cell.dh
        self.tcp_offset_m = TCP_OFFSET_M
        self.linear_step_m = linear_step_m
        self.max_joint_jump_rad = max_joint_jump_rad
        self._tcp_inv = np.linalg.inv(cell.tool0_from_tcp)
        self._stop = threading.Event()
        self.executing = threading.Event()  # set while execute() steps physics (tests, status)

    # -- state ------------------------------------------------------------------------------
    def current_joints(self) -> np.ndarray:
        return self.cell.joint_positions()

    def current_pose(self) -> np.ndarray:
        return self.cell.tcp_pose()

    def gripper_state(self) -> GripperState:
        width = self.cell.gripper_opening()
        return GripperState(width, bool(self.cell.data.ctrl[self.cell._finger_act[0]] < MAX_OPENING_M / 4))

    # -- planning ---------------------------------------------------------------------------
    def _commanded(self) -> np.ndarray:
        """Where the arm's position servos are headed: motions blend on from there."""
        return self.cell.data.ctrl[self.cell._arm_act].copy()

    def _ik(self, base_from_tcp: np.ndarray, q_ref: np.ndarray) -> np.ndarray | None:
        return ik_nearest(base_from_tcp @ self._tcp_inv, q_ref, self.cell.dh, UR5_JOINT_LIMITS)

    def _timed(self, kind: PlanKind, q_start: np.ndarray, waypoints: np.ndarray, speed_scale: float,
               target_tcp: np.ndarray | None) -> JointPlan:
        speed = self.cell.config.max_joint_speed_rad_s * max(1e-3, min(1.0, speed_scale))
        pts = np.vstack([q_start[None], waypoints])
        durations = np.maximum(MIN_SEGMENT_S, QUINTIC_PEAK * np.abs(np.diff(pts, axis=0)).max(axis=1) / speed)
        tcp_lengths = tcp_path(q_start, waypoints, self.tcp_offset_m, self.cell.dh).segment_lengths_m
        durations = np.maximum(durations, tcp_lengths / (self.max_tcp_speed_m_s * max(1e-3, min(1.0, speed_scale))))
        # `native`: the exact segment durations execute() steps (cumsum then diff would round)
        return JointPlan(kind, q_start.copy(), waypoints, np.cumsum(durations), speed_scale,
                         None if target_tcp is None else np.asarray(target_tcp, float).copy(), native=durations)

    def _start(self, q_start: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(q the plan starts from, q IK stays near): the commanded and measured joints, or a given start."""
        self._stop.clear()  # a stop before this plan belongs to an earlier motion
        if q_start is not None:
            q = np.asarray(q_start, float).copy()
            return q, q
        return self._commanded(), self.current_joints()

    def plan_joints(self, q: np.ndarray, speed_scale: float, *, q_start: np.ndarray | None = None) -> JointPlan:
        start, _ = self._start(q_start)
        return self._timed(PlanKind.JOINTS, start, np.asarray(q, float).reshape(1, 6), speed_scale, None)

    def plan_pose(self, base_from_tcp: np.ndarray, speed_scale: float, *,
                  q_start: np.ndarray | None = None) -> JointPlan:
        start, q_ref = self._start(q_start)
        q = self._ik(base_from_tcp, q_ref)
        if q is None:
            raise PlanningFailed(MotionResult(MotionStatus.UNREACHABLE, "no IK solution within joint limits", "no_ik"))
        return self._timed(PlanKind.POSE, start, q[None], speed_scale, base_from_tcp)

    def plan_linear(self, base_from_tcp: np.ndarray, speed_scale: float, *,
                    q_start: np.ndarray | None = None) -> JointPlan:
        start_q, q_ref = self._start(q_start)
        start = self.current_pose() if q_start is None else self.cell_fk(q_ref)
        dist = float(np.linalg.norm(base_from_tcp[:3, 3] - start[:3, 3]))
        angle = float(np.linalg.norm(Rotation.from_matrix(base_from_tcp[:3, :3] @ start[:3, :3].T).as_rotvec()))
        n = max(1, int(math.ceil(max(dist / self.linear_step_m, angle / 0.1))))
        slerp = Slerp([0.0, 1.0], Rotation.from_matrix(np.stack([start[:3, :3], base_from_tcp[:3, :3]])))
        waypoints = []
        for i in range(1, n + 1):
            s = i / n
            T = np.eye(4)
            T[:3, :3] = slerp(s).as_matrix()
            T[:3, 3] = start[:3, 3] + s * (base_from_tcp[:3, 3] - start[:3, 3])
            q = self._ik(T, q_ref)
            if q is None:
                raise PlanningFailed(MotionResult(MotionStatus.UNREACHABLE,
                                                  f"no IK solution on the straight line at {s:.0%}", "no_ik"))
            if np.max(np.abs(q - q_ref)) > self.max_joint_jump_rad:
                raise PlanningFailed(MotionResult(MotionStatus.UNREACHABLE,
                                                  "straight line crosses a singularity (joint jump)", "singularity"))
            waypoints.append(q)
            q_ref = q
        return self._timed(PlanKind.LINEAR, start_q, np.array(waypoints), speed_scale, base_from_tcp)

    def cell_fk(self, q: np.ndarray) -> np.ndarray:
        """base_from_tcp of joint angles with the cell's kinematics."""
        return fk(np.asarray(q, float), self.cell.dh) @ self.cell.tool0_from_tcp

    # -- execution --------------------------------------------------------------------------
    def execute(self, plan: JointPlan) -> MotionResult:
        """Step physics along the plan; ABORTED (holding where the arm is) as soon as stop() is seen."""
        durations = plan.native if isinstance(plan.native, np.ndarray) and len(plan.native) == len(plan.positions) \
            else np.diff(np.concatenate([[0.0], plan.times_s]))
        dt = self.cell.model.opt.timestep
        self.executing.set()
        try:
            q0 = self._commanded()
            last = len(plan.positions) - 1
            for k, (q1, duration) in enumerate(zip(plan.positions, durations, strict=True)):
                n = int(math.ceil(float(duration) / dt))
                for i in range(1, n + 1 + (k < last)):  # one physics step between segments, as the cell's moves
                    if self._stop.is_set():
                        return self._hold("stopped")
                    s = min(i / n, 1.0)
                    self.cell.command_joints(q0 + (q1 - q0) * (10 * s**3 - 15 * s**4 + 6 * s**5))
                    self.cell.step()
                q0 = self._commanded()
            for _ in range(max(1, int(round(SETTLE_S / dt)))):
                if self._stop.is_set():
                    return self._hold("stopped")
                self.cell.step()
        finally:
            self.executing.clear()
        err = float(np.max(np.abs(self.cell.joint_positions() - plan.positions[-1])))
        if err <= TRACKING_TOL_RAD:
            return MotionResult(MotionStatus.SUCCEEDED)
        return MotionResult(MotionStatus.ABORTED, f"joints {err:.3f} rad from the target (collision or load)", "tracking")

    def _hold(self, why: str) -> MotionResult:
        self.cell.command_joints(self.cell.joint_positions())
        return MotionResult(MotionStatus.ABORTED, why, "stopped")

    def gripper(self, command: GripperCommand, force_n: float | None = None) -> MotionResult:
        if command == GripperCommand.OPEN:
            self.cell.set_gripper(MAX_OPENING_M)
        elif command == GripperCommand.CLOSE:
            self.cell.set_gripper(0.0)
        return MotionResult(MotionStatus.SUCCEEDED)

    def stop(self) -> None:
        """Preempt a running execute(); when idle, hold the current joint positions."""
        self._stop.set()
        if not self.executing.is_set():
            self.cell.command_joints(self.cell.joint_positions())
