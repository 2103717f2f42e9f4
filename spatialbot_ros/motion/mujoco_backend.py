"""MotionBackend over the simulated cell: closed-form IK to joint targets, straight-line TCP moves
as interpolated IK waypoints, and the force-limited parallel gripper."""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from spatialbot_ros.core.actions import GripperCommand
from spatialbot_ros.core.ur_kinematics import UR5_JOINT_LIMITS, ik_nearest
from spatialbot_ros.motion.base import GripperState, MotionResult, MotionStatus
from spatialbot_ros.sim.cell import Ur5Cell
from spatialbot_ros.sim.ur5_mjcf import MAX_OPENING_M


class _Checker(Protocol):
    def check_pose(self, base_from_tcp: np.ndarray) -> None: ...

    def check_joint_target(self, q: np.ndarray, q_now: np.ndarray | None = None,
                           duration_s: float | None = None) -> None: ...


class MujocoMotionBackend:
    """Executes motions in the MuJoCo cell. Every target passes the safety checker first."""

    name = "mujoco"

    def __init__(self, cell: Ur5Cell, safety: _Checker | None = None, linear_step_m: float = 0.01,
                 max_joint_jump_rad: float = 0.5) -> None:
        self.cell = cell
        self.safety = safety
        self.linear_step_m = linear_step_m
        self.max_joint_jump_rad = max_joint_jump_rad
        self._tcp_inv = np.linalg.inv(cell.tool0_from_tcp)

    def current_joints(self) -> np.ndarray:
        return self.cell.joint_positions()

    def current_pose(self) -> np.ndarray:
        return self.cell.tcp_pose()

    def _refuse(self, exc: Exception) -> MotionResult:
        return MotionResult(MotionStatus.REFUSED, f"{getattr(exc, 'reason', 'refused')}: {exc}")

    def _ik(self, base_from_tcp: np.ndarray, q_ref: np.ndarray) -> np.ndarray | None:
        return ik_nearest(base_from_tcp @ self._tcp_inv, q_ref, self.cell.dh, UR5_JOINT_LIMITS)

    def move_to_pose(self, base_from_tcp: np.ndarray, speed_scale: float = 1.0) -> MotionResult:
        q_now = self.current_joints()
        try:
            if self.safety is not None:
                self.safety.check_pose(base_from_tcp)
        except ValueError as exc:
            return self._refuse(exc)
        q = self._ik(base_from_tcp, q_now)
        if q is None:
            return MotionResult(MotionStatus.UNREACHABLE, "no IK solution within joint limits")
        return self.move_joints(q, speed_scale)

    def move_linear(self, base_from_tcp: np.ndarray, speed_scale: float = 1.0) -> MotionResult:
        start = self.current_pose()
        try:
            if self.safety is not None:
                self.safety.check_pose(base_from_tcp)
        except ValueError as exc:
            return self._refuse(exc)
        dist = float(np.linalg.norm(base_from_tcp[:3, 3] - start[:3, 3]))
        angle = float(np.linalg.norm(Rotation.from_matrix(base_from_tcp[:3, :3] @ start[:3, :3].T).as_rotvec()))
        n = max(1, int(math.ceil(max(dist / self.linear_step_m, angle / 0.1))))
        slerp = Slerp([0.0, 1.0], Rotation.from_matrix(np.stack([start[:3, :3], base_from_tcp[:3, :3]])))
        q_ref = self.current_joints()
        waypoints = []
        for i in range(1, n + 1):
            s = i / n
            T = np.eye(4)
            T[:3, :3] = slerp(s).as_matrix()
            T[:3, 3] = start[:3, 3] + s * (base_from_tcp[:3, 3] - start[:3, 3])
            q = self._ik(T, q_ref)
            if q is None:
                return MotionResult(MotionStatus.UNREACHABLE, f"no IK solution on the straight line at {s:.0%}")
            if np.max(np.abs(q - q_ref)) > self.max_joint_jump_rad:
                return MotionResult(MotionStatus.UNREACHABLE, "straight line crosses a singularity (joint jump)")
            waypoints.append(q)
            q_ref = q
        if self.safety is not None:
            try:
                for q in waypoints:
                    self.safety.check_joint_target(q)
            except ValueError as exc:
                return self._refuse(exc)
        for q in waypoints[:-1]:
            self.cell.move_joints(q, speed_scale, settle_s=0.0, tol_rad=math.inf)
        ok = self.cell.move_joints(waypoints[-1], speed_scale)
        return MotionResult(MotionStatus.SUCCEEDED if ok else MotionStatus.ABORTED,
                            "" if ok else "joints did not reach the target (collision or load)")

    def move_joints(self, q: np.ndarray, speed_scale: float = 1.0) -> MotionResult:
        q = np.asarray(q, dtype=float)
        try:
            if self.safety is not None:
                self.safety.check_joint_target(q, self.current_joints())
        except ValueError as exc:
            return self._refuse(exc)
        ok = self.cell.move_joints(q, speed_scale)
        return MotionResult(MotionStatus.SUCCEEDED if ok else MotionStatus.ABORTED,
                            "" if ok else "joints did not reach the target (collision or load)")

    def gripper(self, command: GripperCommand, force_n: float | None = None) -> MotionResult:
        if command == GripperCommand.OPEN:
            self.cell.set_gripper(MAX_OPENING_M)
        elif command == GripperCommand.CLOSE:
            self.cell.set_gripper(0.0)
        return MotionResult(MotionStatus.SUCCEEDED)

    def gripper_state(self) -> GripperState:
        width = self.cell.gripper_opening()
        return GripperState(width, bool(self.cell.data.ctrl[self.cell._finger_act[0]] < MAX_OPENING_M / 4))

    def stop(self) -> None:
        """Hold the current joint positions."""
        self.cell.data.ctrl[self.cell._arm_act] = self.cell.joint_positions()
