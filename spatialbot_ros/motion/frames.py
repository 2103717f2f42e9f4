"""Frame conventions shared by the real-robot backends.

Our poses are base_from_tcp in the UR DH `base` frame (what the UR controller and ur_rtde call
base). ur_description's `base_link` is that frame rotated by pi about z; MoveIt plans in base_link
and moves tool0, so goals are converted here, in one place.
"""

from __future__ import annotations

import math

import numpy as np

from spatialbot_ros.core.kinematics import ArmKinematics
from spatialbot_ros.core.transforms import make_pose, pose_to_xyz_quat
from spatialbot_ros.core.ur_kinematics import UR5_DH

BASE_LINK_FROM_BASE = make_pose([0.0, 0.0, 0.0], np.array([[math.cos(math.pi), -math.sin(math.pi), 0.0],
                                                           [math.sin(math.pi), math.cos(math.pi), 0.0],
                                                           [0.0, 0.0, 1.0]]))


def tool0_from_tcp(tcp_offset_m: float) -> np.ndarray:
    """The TCP (fingertip centre) sits tcp_offset_m along tool0's z."""
    return make_pose([0.0, 0.0, float(tcp_offset_m)])


def tcp_pose_from_joints(q: np.ndarray, tcp_offset_m: float, arm: ArmKinematics = UR5_DH) -> np.ndarray:
    """base_from_tcp for joint angles: forward kinematics to tool0, then the TCP offset."""
    return arm.fk(np.asarray(q, float)) @ tool0_from_tcp(tcp_offset_m)


def tool0_pose_for_tcp(base_from_tcp: np.ndarray, tcp_offset_m: float) -> np.ndarray:
    """base_from_tool0 that puts the TCP at base_from_tcp (same frame)."""
    return np.asarray(base_from_tcp, float) @ np.linalg.inv(tool0_from_tcp(tcp_offset_m))


def tool0_goal(base_from_tcp: np.ndarray, tcp_offset_m: float, planning_frame: str = "base_link") -> np.ndarray:
    """The tool0 pose, in the planning frame, that puts the TCP at base_from_tcp."""
    tool0 = tool0_pose_for_tcp(base_from_tcp, tcp_offset_m)
    if planning_frame == "base_link":
        return BASE_LINK_FROM_BASE @ tool0
    if planning_frame == "base":
        return tool0
    raise ValueError(f"planning_frame must be 'base_link' or 'base', not {planning_frame!r}")


def pose_stamped(T: np.ndarray, frame_id: str, stamp: object | None = None) -> object:
    """geometry_msgs/PoseStamped from a 4x4 (quaternion x, y, z, w as ROS orders it)."""
    from geometry_msgs.msg import PoseStamped  # lazy: ROS message wheels

    xyz, q = pose_to_xyz_quat(T)
    msg = PoseStamped()
    msg.header.frame_id = frame_id
    if stamp is not None:
        msg.header.stamp = stamp
    msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = (float(v) for v in xyz)
    msg.pose.orientation.x, msg.pose.orientation.y, msg.pose.orientation.z, msg.pose.orientation.w = (float(v) for v in q)
    return msg


def ur_pose_vector(T: np.ndarray) -> list[float]:
    """[x, y, z, rx, ry, rz] (rotation vector) as URScript and ur_rtde take it."""
    from scipy.spatial.transform import Rotation

    return [float(v) for v in T[:3, 3]] + [float(v) for v in Rotation.from_matrix(T[:3, :3]).as_rotvec()]


def _state_field(msg: object, field: str, joint_names: tuple[str, ...]) -> np.ndarray | None:
    """One per-joint field of a sensor_msgs/JointState for joint_names, in that order; None if a name
    is missing, the field has not one value per name, or a value is not finite."""
    names = list(getattr(msg, "name", []) or [])
    values = list(getattr(msg, field, []) or [])
    if len(values) != len(names):
        return None
    index = {n: i for i, n in enumerate(names)}
    if not all(j in index for j in joint_names):
        return None
    out = np.array([values[index[j]] for j in joint_names], dtype=float)
    return out if np.all(np.isfinite(out)) else None


def joints_from_state(msg: object, joint_names: tuple[str, ...]) -> np.ndarray | None:
    """Positions of joint_names (in that order) from a sensor_msgs/JointState; None if any is missing,
    the message carries fewer positions than names, or a value is not finite (a malformed state
    must read as "no state", never as a pose)."""
    return _state_field(msg, "position", joint_names)


def velocities_from_state(msg: object, joint_names: tuple[str, ...]) -> np.ndarray | None:
    """Velocities of joint_names from a sensor_msgs/JointState; None when the driver sends none
    (the velocity field is optional) or they are incomplete or not finite."""
    return _state_field(msg, "velocity", joint_names)
