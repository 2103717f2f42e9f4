"""For cells without MoveIt: closed-form IK + a time-parameterised joint trajectory sent to the UR
controller's FollowJointTrajectory action.

The controller is `scaled_joint_trajectory_controller` on Humble+ ur_robot_driver setups and
`joint_trajectory_controller` on others (mock hardware, some distros): it is a parameter. The
trajectory building is pure and tested; the sending needs control_msgs (apt ros-<distro>-control-msgs),
imported only when a trajectory is actually sent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from spatialbot_ros.core.actions import GripperCommand
from spatialbot_ros.core.timestamps import split_seconds
from spatialbot_ros.core.transforms import make_pose
from spatialbot_ros.core.ur_kinematics import (
    UR5_DH,
    UR5_JOINT_LIMITS,
    UR_JOINT_NAMES,
    DHParams,
    ik_nearest,
)
from spatialbot_ros.motion.base import GripperState, MotionBackendUnavailable, MotionResult, MotionStatus
from spatialbot_ros.motion.frames import joints_from_state, tcp_pose_from_joints


@dataclass(frozen=True)
class TrajectoryConfig:
    controller_name: str = "scaled_joint_trajectory_controller"
    max_joint_speed_rad_s: float = 1.0
    max_joint_accel_rad_s2: float = 2.0
    linear_step_m: float = 0.01
    tcp_offset_m: float = 0.15
    joint_names: tuple[str, ...] = UR_JOINT_NAMES

    @property
    def action_name(self) -> str:
        return f"/{self.controller_name}/follow_joint_trajectory"


def hermite_peak_speeds(p0: np.ndarray, p1: np.ndarray, v0: np.ndarray, v1: np.ndarray,
                        durations: np.ndarray) -> np.ndarray:
    """Largest |velocity| per segment (N,) of the cubic Hermite splines a joint trajectory controller
    runs between waypoints given positions and velocities: it peaks inside a segment, up to 1.5x
    the mean speed when both ends are at rest."""
    T = durations[:, None]
    dp = (p0 - p1) / T
    a = 6.0 * dp + 3.0 * v0 + 3.0 * v1                       # velocity(s) = a s^2 + b s + c, s in [0, 1]
    b = -6.0 * dp - 4.0 * v0 - 2.0 * v1
    c = v0
    with np.errstate(divide="ignore", invalid="ignore"):
        s_star = np.where(np.abs(a) > 1e-12, -b / (2.0 * a), 0.0)
    s_star = np.clip(s_star, 0.0, 1.0)
    peak = np.maximum.reduce([np.abs(c), np.abs(a + b + c), np.abs(a * s_star**2 + b * s_star + c)])
    return peak.max(axis=1)


def time_parameterize(q_start: np.ndarray, waypoints: np.ndarray, cfg: TrajectoryConfig,
                      speed_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Times (N,) from the start and velocities (N,6) for joint waypoints (N,6).

    Each segment starts at the longer of its speed-limited and its acceleration-limited (bang-bang)
    time; velocities are central differences with zero at both ends. Segments are then stretched
    until the controller's cubic spline through them stays within the speed limit everywhere, not
    only at the waypoints.
    """
    pts = np.vstack([np.asarray(q_start, float)[None], np.asarray(waypoints, float)])
    dq = np.abs(np.diff(pts, axis=0)).max(axis=1)
    v = cfg.max_joint_speed_rad_s * min(max(speed_scale, 1e-3), 1.0)
    seg = np.maximum(dq / v, np.sqrt(4.0 * dq / cfg.max_joint_accel_rad_s2))
    seg = np.maximum(seg, 1e-3)
    vel = np.zeros_like(pts)
    for _ in range(20):
        t_all = np.concatenate([[0.0], np.cumsum(seg)])
        vel[1:-1] = (pts[2:] - pts[:-2]) / (t_all[2:] - t_all[:-2])[:, None]
        peak = hermite_peak_speeds(pts[:-1], pts[1:], vel[:-1], vel[1:], seg)
        over = peak > v * (1.0 + 1e-9)
        if not over.any():
            break
        seg = np.where(over, seg * np.minimum(peak / v, 1.5) * (1.0 + 1e-6), seg)
    return np.cumsum(seg), vel[1:]


def build_joint_trajectory(positions: np.ndarray, times: np.ndarray, velocities: np.ndarray,
                           joint_names: tuple[str, ...] = UR_JOINT_NAMES) -> object:
    """trajectory_msgs/JointTrajectory with time_from_start per point."""
    from builtin_interfaces.msg import Duration
    from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

    msg = JointTrajectory()
    msg.joint_names = list(joint_names)
    for q, t, v in zip(positions, times, velocities, strict=True):
        p = JointTrajectoryPoint()
        p.positions = [float(x) for x in q]
        p.velocities = [float(x) for x in v]
        sec, nanosec = split_seconds(float(t))
        p.time_from_start = Duration(sec=sec, nanosec=nanosec)
        msg.points.append(p)
    return msg


def plan_linear(q_start: np.ndarray, start_tcp: np.ndarray, goal_tcp: np.ndarray, cfg: TrajectoryConfig,
                dh: DHParams = UR5_DH) -> np.ndarray | None:
    """Joint waypoints along a straight TCP line (IK per 1 cm, continuity enforced); None if it breaks."""
    from scipy.spatial.transform import Rotation, Slerp

    tcp_inv = np.linalg.inv(make_pose([0.0, 0.0, cfg.tcp_offset_m]))
    dist = float(np.linalg.norm(goal_tcp[:3, 3] - start_tcp[:3, 3]))
    n = max(1, int(math.ceil(dist / cfg.linear_step_m)))
    slerp = Slerp([0.0, 1.0], Rotation.from_matrix(np.stack([start_tcp[:3, :3], goal_tcp[:3, :3]])))
    q_ref, out = np.asarray(q_start, float), []
    for i in range(1, n + 1):
        s = i / n
        T = make_pose(start_tcp[:3, 3] + s * (goal_tcp[:3, 3] - start_tcp[:3, 3]), slerp(s).as_matrix())
        q = ik_nearest(T @ tcp_inv, q_ref, dh, UR5_JOINT_LIMITS)
        if q is None or np.max(np.abs(q - q_ref)) > 0.5:
            return None
        out.append(q)
        q_ref = q
    return np.array(out)


class JointTrajectoryBackend:
    """MotionBackend over ros2_control's joint trajectory controller of the UR driver."""

    name = "joint_trajectory"

    def __init__(self, node: object, config: TrajectoryConfig | None = None, dh: DHParams = UR5_DH,
                 joint_state_topic: str = "/joint_states") -> None:
        try:
            from control_msgs.action import FollowJointTrajectory  # noqa: F401
        except ImportError as exc:
            raise MotionBackendUnavailable(
                "joint_trajectory backend needs control_msgs: apt install ros-$ROS_DISTRO-control-msgs "
                "(source /opt/ros/$ROS_DISTRO/setup.bash)") from exc
        from rclpy.action import ActionClient
        from sensor_msgs.msg import JointState

        self.node, self.config, self.dh = node, config or TrajectoryConfig(), dh
        self._client = ActionClient(node, FollowJointTrajectory, self.config.action_name)
        self._q: np.ndarray | None = None
        self._handle: object | None = None
        node.create_subscription(JointState, joint_state_topic, self._on_joints, 10)

    def _on_joints(self, msg: object) -> None:
        q = joints_from_state(msg, self.config.joint_names)
        if q is not None:
            self._q = q

    def current_joints(self) -> np.ndarray:
        if self._q is None:
            raise RuntimeError("no /joint_states received yet")
        return self._q.copy()

    def current_pose(self) -> np.ndarray:
        return tcp_pose_from_joints(self.current_joints(), self.config.tcp_offset_m, self.dh)

    def _send(self, waypoints: np.ndarray, speed_scale: float) -> MotionResult:
        import rclpy
        from control_msgs.action import FollowJointTrajectory

        q0 = self.current_joints()
        times, vel = time_parameterize(q0, waypoints, self.config, speed_scale)
        goal = FollowJointTrajectory.Goal()
        goal.trajectory = build_joint_trajectory(waypoints, times, vel, self.config.joint_names)
        if not self._client.wait_for_server(timeout_sec=5.0):
            return MotionResult(MotionStatus.ABORTED, f"no action server at {self.config.action_name}")
        future = self._client.send_goal_async(goal)
        rclpy.spin_until_future_complete(self.node, future, timeout_sec=5.0)
        handle = future.result()
        if handle is None or not handle.accepted:
            return MotionResult(MotionStatus.ABORTED, "trajectory goal rejected by the controller")
        self._handle = handle
        result = handle.get_result_async()
        rclpy.spin_until_future_complete(self.node, result, timeout_sec=float(times[-1]) + 10.0)
        code = getattr(getattr(result.result(), "result", None), "error_code", -1)
        return MotionResult(MotionStatus.SUCCEEDED if code == 0 else MotionStatus.ABORTED, f"error_code {code}")

    def move_joints(self, q: np.ndarray, speed_scale: float = 1.0) -> MotionResult:
        return self._send(np.asarray(q, float)[None], speed_scale)

    def move_to_pose(self, base_from_tcp: np.ndarray, speed_scale: float = 1.0) -> MotionResult:
        tcp_inv = np.linalg.inv(make_pose([0.0, 0.0, self.config.tcp_offset_m]))
        q = ik_nearest(base_from_tcp @ tcp_inv, self.current_joints(), self.dh, UR5_JOINT_LIMITS)
        if q is None:
            return MotionResult(MotionStatus.UNREACHABLE, "no IK solution within joint limits")
        return self.move_joints(q, speed_scale)

    def move_linear(self, base_from_tcp: np.ndarray, speed_scale: float = 1.0) -> MotionResult:
        wp = plan_linear(self.current_joints(), self.current_pose(), base_from_tcp, self.config, self.dh)
        if wp is None:
            return MotionResult(MotionStatus.UNREACHABLE, "straight line leaves the reachable space")
        return self._send(wp, speed_scale)

    def gripper(self, command: GripperCommand, force_n: float | None = None) -> MotionResult:
        return MotionResult(MotionStatus.REFUSED, "joint_trajectory drives the arm only; configure a gripper backend")

    def gripper_state(self) -> GripperState:
        return GripperState(float("nan"), False)

    def stop(self) -> None:
        """Cancel the running trajectory; the controller then holds position."""
        if self._handle is not None:
            self._handle.cancel_goal_async()  # type: ignore[attr-defined]
            self._handle = None
