"""Rigid transforms as 4x4 numpy matrices; rotation maths delegated to scipy.

Naming: `a_from_b` maps points in frame b into frame a. ROS quaternions are (x, y, z, w),
which is also scipy's order.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation


def make_pose(position: np.ndarray | list[float], rotation: np.ndarray | Rotation | None = None) -> np.ndarray:
    """4x4 pose from a position and a 3x3 matrix / scipy Rotation (identity if None)."""
    T = np.eye(4)
    T[:3, 3] = np.asarray(position, dtype=float)
    if rotation is not None:
        T[:3, :3] = rotation.as_matrix() if isinstance(rotation, Rotation) else np.asarray(rotation, float)
    return T


def pose_from_xyz_quat(xyz: np.ndarray | list[float], quat_xyzw: np.ndarray | list[float]) -> np.ndarray:
    return make_pose(xyz, Rotation.from_quat(quat_xyzw))


def pose_to_xyz_quat(T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position, quaternion x,y,z,w) of a 4x4 pose."""
    return T[:3, 3].copy(), Rotation.from_matrix(T[:3, :3]).as_quat()


def invert(T: np.ndarray) -> np.ndarray:
    R, t = T[:3, :3], T[:3, 3]
    out = np.eye(4)
    out[:3, :3] = R.T
    out[:3, 3] = -R.T @ t
    return out


def transform_points(T: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 4x4 transform to (N,3) or (3,) points."""
    p = np.asarray(points, dtype=float)
    return p @ T[:3, :3].T + T[:3, 3]


def rotvec_between(R_from: np.ndarray, R_to: np.ndarray) -> np.ndarray:
    """Rotation vector (axis*angle, base frame) that rotates orientation R_from onto R_to."""
    return Rotation.from_matrix(R_to @ R_from.T).as_rotvec()


def look_at(eye: np.ndarray | list[float], target: np.ndarray | list[float], up: np.ndarray | list[float] = (0, 0, 1)) -> np.ndarray:
    """world_from_camera for an optical frame (z forward, x right, y down) looking at target."""
    eye, target, up = (np.asarray(v, float) for v in (eye, target, up))
    z = target - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, up)
    if np.linalg.norm(x) < 1e-9:
        x = np.cross(z, [0.0, 1.0, 0.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return make_pose(eye, np.column_stack([x, y, z]))


def extrinsic_from_params(xyz: list[float], quat_xyzw: list[float]) -> np.ndarray:
    """4x4 from parameter values; refuses anything but 3 numbers and a unit quaternion."""
    q = [float(v) for v in quat_xyzw]
    if len(xyz) != 3 or len(q) != 4 or abs(sum(v * v for v in q) - 1.0) > 1e-3:
        raise ValueError(f"camera extrinsics need xyz (3 numbers) and a unit quaternion x,y,z,w; got {list(xyz)}, {q}")
    return pose_from_xyz_quat([float(v) for v in xyz], q)
