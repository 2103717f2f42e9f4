"""Hand-eye calibration of the fixed camera (eye-to-hand) or a wrist camera (eye-in-hand) from
robot poses and marker observations, solved with OpenCV's calibrateHandEye; writes the camera
extrinsics as a parameter YAML the launch files read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import yaml

from spatialbot_ros.core.transforms import invert, make_pose, pose_to_xyz_quat

METHODS = {"tsai": cv2.CALIB_HAND_EYE_TSAI, "park": cv2.CALIB_HAND_EYE_PARK, "horaud": cv2.CALIB_HAND_EYE_HORAUD,
           "andreff": cv2.CALIB_HAND_EYE_ANDREFF, "daniilidis": cv2.CALIB_HAND_EYE_DANIILIDIS}


@dataclass(frozen=True)
class HandEyeResult:
    transform: np.ndarray           # base_from_camera (eye-to-hand) or tool0_from_camera (eye-in-hand)
    residual_m: float               # spread of the marker position implied by each sample
    samples: int


def calibrate_hand_eye(base_from_tool0: list[np.ndarray], camera_from_marker: list[np.ndarray],
                       eye_in_hand: bool = False, method: str = "park") -> HandEyeResult:
    """Solve the camera pose. Eye-to-hand passes the inverted robot poses to OpenCV, as documented."""
    if len(base_from_tool0) != len(camera_from_marker):
        raise ValueError("hand-eye: need as many robot poses as marker observations")
    if len(base_from_tool0) < 3:
        raise ValueError(f"hand-eye: need at least 3 samples with distinct rotations, got {len(base_from_tool0)}")
    if method not in METHODS:
        raise ValueError(f"hand-eye: method must be one of {', '.join(METHODS)}")
    robot = [np.asarray(T, float) if eye_in_hand else invert(np.asarray(T, float)) for T in base_from_tool0]
    R_g, t_g = [T[:3, :3] for T in robot], [T[:3, 3] for T in robot]
    R_t, t_t = [np.asarray(T)[:3, :3] for T in camera_from_marker], [np.asarray(T)[:3, 3] for T in camera_from_marker]
    R, t = cv2.calibrateHandEye(R_g, t_g, R_t, t_t, method=METHODS[method])
    X = make_pose(t.ravel(), R)
    # consistency: the marker's pose in the gripper (eye-to-hand) or base (eye-in-hand) should not vary
    if eye_in_hand:
        marker = [np.asarray(b) @ X @ np.asarray(c) for b, c in zip(base_from_tool0, camera_from_marker, strict=True)]
    else:
        marker = [invert(np.asarray(b)) @ X @ np.asarray(c) for b, c in zip(base_from_tool0, camera_from_marker, strict=True)]
    pts = np.array([m[:3, 3] for m in marker])
    return HandEyeResult(X, float(np.linalg.norm(pts - pts.mean(axis=0), axis=1).max()), len(robot))


def write_extrinsics_yaml(path: Path | str, base_from_camera: np.ndarray, parent_frame: str = "base",
                          child_frame: str = "camera_color_optical_frame", node: str = "/**") -> None:
    """ROS parameter file: camera pose as xyz + quaternion (x, y, z, w) with frame names."""
    xyz, q = pose_to_xyz_quat(np.asarray(base_from_camera, float))
    data = {node: {"ros__parameters": {
        "camera_extrinsics.parent_frame": parent_frame, "camera_extrinsics.child_frame": child_frame,
        "camera_extrinsics.xyz": [round(float(v), 6) for v in xyz],
        "camera_extrinsics.quat_xyzw": [round(float(v), 9) for v in q]}}}
    Path(path).write_text(yaml.safe_dump(data, sort_keys=False))


def read_extrinsics_yaml(path: Path | str) -> np.ndarray:
    from spatialbot_ros.core.transforms import pose_from_xyz_quat

    data = yaml.safe_load(Path(path).read_text())
    params = next(iter(data.values()))["ros__parameters"]
    return pose_from_xyz_quat(params["camera_extrinsics.xyz"], params["camera_extrinsics.quat_xyzw"])
