"""Direct to the UR controller over RTDE (PyPI ur-rtde): moveL / moveJ with the TCP set on the
controller to our gripper's offset. Poses are in the controller's base frame (= our DH base)."""

from __future__ import annotations

import numpy as np

from spatialbot_ros.core.actions import GripperCommand
from spatialbot_ros.motion.base import GripperState, MotionBackendUnavailable, MotionResult, MotionStatus
from spatialbot_ros.motion.frames import ur_pose_vector


class UrRtdeBackend:
    name = "ur_rtde"

    def __init__(self, robot_ip: str, tcp_offset_m: float = 0.15, speed_m_s: float = 0.1, accel_m_s2: float = 0.3,
                 joint_speed_rad_s: float = 0.5, joint_accel_rad_s2: float = 1.0) -> None:
        try:
            import rtde_control
            import rtde_receive
        except ImportError as exc:
            raise MotionBackendUnavailable("ur_rtde backend needs the ur-rtde package: pip install ur-rtde==1.6.5") from exc
        if not robot_ip:
            raise ValueError("ur_rtde: robot_ip is required")
        self._ctrl = rtde_control.RTDEControlInterface(robot_ip)
        self._recv = rtde_receive.RTDEReceiveInterface(robot_ip)
        self._ctrl.setTcp([0.0, 0.0, float(tcp_offset_m), 0.0, 0.0, 0.0])
        self.speed, self.accel = speed_m_s, accel_m_s2
        self.jspeed, self.jaccel = joint_speed_rad_s, joint_accel_rad_s2

    def current_joints(self) -> np.ndarray:
        return np.asarray(self._recv.getActualQ(), float)

    def current_pose(self) -> np.ndarray:
        from scipy.spatial.transform import Rotation

        from spatialbot_ros.core.transforms import make_pose

        p = self._recv.getActualTCPPose()
        return make_pose(p[:3], Rotation.from_rotvec(p[3:]))

    def _result(self, ok: bool, what: str) -> MotionResult:
        return MotionResult(MotionStatus.SUCCEEDED if ok else MotionStatus.ABORTED, "" if ok else f"{what} failed")

    def move_linear(self, base_from_tcp: np.ndarray, speed_scale: float = 1.0) -> MotionResult:
        return self._result(self._ctrl.moveL(ur_pose_vector(base_from_tcp), self.speed * speed_scale, self.accel), "moveL")

    def move_to_pose(self, base_from_tcp: np.ndarray, speed_scale: float = 1.0) -> MotionResult:
        ok = self._ctrl.moveJ_IK(ur_pose_vector(base_from_tcp), self.jspeed * speed_scale, self.jaccel)
        return self._result(ok, "moveJ_IK")

    def move_joints(self, q: np.ndarray, speed_scale: float = 1.0) -> MotionResult:
        return self._result(self._ctrl.moveJ([float(v) for v in q], self.jspeed * speed_scale, self.jaccel), "moveJ")

    def gripper(self, command: GripperCommand, force_n: float | None = None) -> MotionResult:
        return MotionResult(MotionStatus.REFUSED, "ur_rtde drives the arm; use the Robotiq socket gripper")

    def gripper_state(self) -> GripperState:
        return GripperState(float("nan"), False)

    def stop(self) -> None:
        self._ctrl.stopL(2.0)
