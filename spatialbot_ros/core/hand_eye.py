"""Hand-eye calibration of the fixed camera (eye-to-hand) or a wrist camera (eye-in-hand) from
robot poses and marker observations, solved with OpenCV's calibrateHandEye and refined on the
reprojection of the board corners; writes the camera extrinsics as a parameter YAML the launch
files read.

Eye-to-hand: X = base_from_camera, the target is fixed on tool0 (tool0_from_target constant).
Eye-in-hand: X = tool0_from_camera, the target is fixed in the cell (base_from_target constant).
Using an eye-in-hand result: a frame's camera pose is base_from_tool0(joints at the frame's stamp) @ X
(JointHistory, wrist_camera_pose), never the arm's pose when the frame happens to be read.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
import yaml
from scipy.optimize import least_squares
from scipy.spatial.transform import Rotation

from spatialbot_ros.core.kinematics import ArmKinematics
from spatialbot_ros.core.transforms import extrinsic_from_params, invert, make_pose, pose_to_xyz_quat
from spatialbot_ros.core.ur_kinematics import UR5_DH

METHODS = {"tsai": cv2.CALIB_HAND_EYE_TSAI, "park": cv2.CALIB_HAND_EYE_PARK, "horaud": cv2.CALIB_HAND_EYE_HORAUD,
           "andreff": cv2.CALIB_HAND_EYE_ANDREFF, "daniilidis": cv2.CALIB_HAND_EYE_DANIILIDIS}


MIN_SAMPLES = 3
MIN_MOTION_DEG = 5.0


@dataclass(frozen=True)
class HandEyeResult:
    transform: np.ndarray           # base_from_camera (eye-to-hand) or tool0_from_camera (eye-in-hand)
    residual_m: float               # RMS distance of the per-sample target position from its mean
    samples: int
    residual_max_m: float = 0.0     # the largest such distance
    residual_deg: float = 0.0       # RMS angle of the per-sample target orientation from its mean
    target_pose: np.ndarray = field(default_factory=lambda: np.eye(4))  # tool0_from_target / base_from_target
    eye_in_hand: bool = False
    method: str = "park"
    reprojection_px: float | None = None  # mean corner reprojection through the whole chain (refined)

    @property
    def parent_frame(self) -> str:
        return "tool0" if self.eye_in_hand else "base"


def _as_poses(poses: Sequence[np.ndarray], what: str) -> list[np.ndarray]:
    out = [np.asarray(T, float) for T in poses]
    for T in out:
        if T.shape != (4, 4) or not np.all(np.isfinite(T)):
            raise ValueError(f"hand-eye: every {what} must be a finite 4x4 transform")
    return out


def motion_diversity_problem(base_from_tool0: Sequence[np.ndarray]) -> str | None:
    """Why these robot poses cannot fix a hand-eye rotation (None when they can): the solvers need
    relative rotations about at least two clearly different axes."""
    R = Rotation.from_matrix(np.array([np.asarray(T)[:3, :3] for T in base_from_tool0]))
    axes = []
    for i in range(len(R)):
        for j in range(i + 1, len(R)):
            rv = (R[i].inv() * R[j]).as_rotvec()
            if np.degrees(np.linalg.norm(rv)) >= MIN_MOTION_DEG:
                axes.append(rv / np.linalg.norm(rv))
    if len(axes) < 2:
        return f"the tool rotates by less than {MIN_MOTION_DEG:.0f} deg between samples"
    sv = np.linalg.svd(np.array(axes), compute_uv=False)
    if sv[1] < 0.1 * sv[0]:
        return "the tool rotates about one axis only: tilt it about at least two different axes"
    return None


def target_poses(base_from_tool0: Sequence[np.ndarray], camera_from_target: Sequence[np.ndarray],
                 X: np.ndarray, eye_in_hand: bool) -> list[np.ndarray]:
    """The target's pose implied by each sample: tool0_from_target (eye-to-hand) or
    base_from_target (eye-in-hand). A good calibration makes them all the same."""
    if eye_in_hand:
        return [np.asarray(b) @ X @ np.asarray(c) for b, c in zip(base_from_tool0, camera_from_target, strict=True)]
    return [invert(np.asarray(b)) @ X @ np.asarray(c) for b, c in zip(base_from_tool0, camera_from_target, strict=True)]


def _spread(poses: list[np.ndarray]) -> tuple[np.ndarray, float, float, float]:
    """(mean pose, RMS position deviation m, max position deviation m, RMS angle deviation deg)."""
    pts = np.array([T[:3, 3] for T in poses])
    d = np.linalg.norm(pts - pts.mean(axis=0), axis=1)
    rots = Rotation.from_matrix(np.array([T[:3, :3] for T in poses]))
    mean_rot = rots.mean()
    ang = np.linalg.norm((mean_rot.inv() * rots).as_rotvec(), axis=1)
    return (make_pose(pts.mean(axis=0), mean_rot), float(np.sqrt(np.mean(d**2))), float(d.max()),
            float(np.degrees(np.sqrt(np.mean(ang**2)))))


def _with_spread(res: HandEyeResult, base_from_tool0: list[np.ndarray], camera_from_target: list[np.ndarray],
                 X: np.ndarray, **changes: object) -> HandEyeResult:
    mean, rms, mx, deg = _spread(target_poses(base_from_tool0, camera_from_target, X, res.eye_in_hand))
    return replace(res, transform=X, residual_m=rms, residual_max_m=mx, residual_deg=deg, target_pose=mean, **changes)


def calibrate_hand_eye(base_from_tool0: list[np.ndarray], camera_from_marker: list[np.ndarray],
                       eye_in_hand: bool = False, method: str = "park") -> HandEyeResult:
    """Solve the camera pose. Eye-to-hand passes the inverted robot poses to OpenCV, as documented."""
    if len(base_from_tool0) != len(camera_from_marker):
        raise ValueError("hand-eye: need as many robot poses as marker observations")
    if len(base_from_tool0) < MIN_SAMPLES:
        raise ValueError(f"hand-eye: need at least {MIN_SAMPLES} samples with distinct rotations, "
                         f"got {len(base_from_tool0)}")
    if method not in METHODS:
        raise ValueError(f"hand-eye: method must be one of {', '.join(METHODS)}")
    base_from_tool0 = _as_poses(base_from_tool0, "robot pose")
    camera_from_marker = _as_poses(camera_from_marker, "marker observation")
    problem = motion_diversity_problem(base_from_tool0)
    if problem:
        raise ValueError(f"hand-eye: {problem}")
    robot = [T if eye_in_hand else invert(T) for T in base_from_tool0]
    R_g, t_g = [T[:3, :3] for T in robot], [T[:3, 3] for T in robot]
    R_t, t_t = [T[:3, :3] for T in camera_from_marker], [T[:3, 3] for T in camera_from_marker]
    R, t = cv2.calibrateHandEye(R_g, t_g, R_t, t_t, method=METHODS[method])
    X = make_pose(t.ravel(), R)
    if not np.all(np.isfinite(X)):
        raise ValueError(f"hand-eye: the {method} solver returned no finite solution")
    empty = HandEyeResult(X, 0.0, len(robot), eye_in_hand=eye_in_hand, method=method)
    return _with_spread(empty, base_from_tool0, camera_from_marker, X)


def _perturbed(T: np.ndarray, p: np.ndarray) -> np.ndarray:
    """T moved by a small local (rotation vector, translation) step: no singularity near 180 deg."""
    return T @ make_pose(p[3:6], Rotation.from_rotvec(p[:3]))


def chain_camera_from_target(base_from_tool0: np.ndarray, X: np.ndarray, target: np.ndarray,
                             eye_in_hand: bool) -> np.ndarray:
    """Where the calibration says the camera sees the target for this robot pose."""
    if eye_in_hand:
        return invert(X) @ invert(base_from_tool0) @ target
    return invert(X) @ base_from_tool0 @ target


def _project(K: np.ndarray, dist: np.ndarray, camera_from_obj: np.ndarray, pts: np.ndarray) -> np.ndarray:
    rvec = Rotation.from_matrix(camera_from_obj[:3, :3]).as_rotvec()
    px, _ = cv2.projectPoints(pts.reshape(-1, 1, 3), rvec, camera_from_obj[:3, 3], K, dist)
    return px.reshape(-1, 2)


def refine_hand_eye(result: HandEyeResult, base_from_tool0: list[np.ndarray], camera_from_marker: list[np.ndarray],
                    object_points: list[np.ndarray], image_points: list[np.ndarray], camera_matrix: np.ndarray,
                    distortion: np.ndarray | None = None) -> HandEyeResult:
    """Jointly refine X and the target pose by least squares on the corner reprojection of every
    view through the chain (robot pose, X, target): the closed-form solvers weigh noisy board
    depth like everything else, the reprojection weighs what the camera actually measured."""
    B = _as_poses(base_from_tool0, "robot pose")
    K = np.asarray(camera_matrix, float)
    dist = np.zeros(5) if distortion is None else np.asarray(distortion, float)
    obj = [np.asarray(o, float).reshape(-1, 3) for o in object_points]
    img = [np.asarray(i, float).reshape(-1, 2) for i in image_points]
    if not (len(B) == len(obj) == len(img) == len(camera_from_marker)):
        raise ValueError("hand-eye refine: need one set of corners per robot pose")

    X0, Y0 = result.transform, result.target_pose

    def residuals(p: np.ndarray) -> np.ndarray:
        X, Y = _perturbed(X0, p[:6]), _perturbed(Y0, p[6:])
        return np.concatenate([(_project(K, dist, chain_camera_from_target(b, X, Y, result.eye_in_hand), o) - i).ravel()
                               for b, o, i in zip(B, obj, img, strict=True)])

    sol = least_squares(residuals, np.zeros(12), method="lm", x_scale="jac")
    X, Y = _perturbed(X0, sol.x[:6]), _perturbed(Y0, sol.x[6:])
    err = np.linalg.norm(residuals(sol.x).reshape(-1, 2), axis=1)
    refined = _with_spread(result, B, _as_poses(camera_from_marker, "marker observation"), X,
                           reprojection_px=float(err.mean()))
    return replace(refined, target_pose=Y)


def chain_reprojection_px(result: HandEyeResult, base_from_tool0: list[np.ndarray], object_points: list[np.ndarray],
                          image_points: list[np.ndarray], camera_matrix: np.ndarray,
                          distortion: np.ndarray | None = None) -> list[float]:
    """Per view, the mean corner reprojection error through (robot pose, X, target): a view far
    above the others has a bad robot pose or a bad detection."""
    dist = np.zeros(5) if distortion is None else np.asarray(distortion, float)
    return [float(np.linalg.norm(_project(np.asarray(camera_matrix, float), dist,
                                          chain_camera_from_target(np.asarray(b, float), result.transform,
                                                                   result.target_pose, result.eye_in_hand),
                                          np.asarray(o, float)) - np.asarray(i, float).reshape(-1, 2), axis=1).mean())
            for b, o, i in zip(base_from_tool0, object_points, image_points, strict=True)]


# -- the calibration file ------------------------------------------------------------------------

EXTRINSICS_KEYS = ("camera_extrinsics.parent_frame", "camera_extrinsics.child_frame", "camera_extrinsics.xyz",
                   "camera_extrinsics.quat_xyzw")


@dataclass(frozen=True)
class CalibrationFile:
    transform: np.ndarray           # parent_from_child
    parent_frame: str
    child_frame: str
    metadata: dict                  # the calibration.* keys without the prefix


def write_extrinsics_yaml(path: Path | str, base_from_camera: np.ndarray, parent_frame: str = "base",
                          child_frame: str = "camera_color_optical_frame", node: str = "/**",
                          metadata: Mapping[str, object] | None = None) -> None:
    """ROS parameter file: camera pose as xyz + quaternion (x, y, z, w) with frame names, plus
    optional `calibration.<key>` metadata (mode, method, views, residuals, date)."""
    T = np.asarray(base_from_camera, float)
    if T.shape != (4, 4) or not np.all(np.isfinite(T)):
        raise ValueError("calibration file: the camera pose must be a finite 4x4 transform")
    xyz, q = pose_to_xyz_quat(T)
    params: dict[str, object] = {
        "camera_extrinsics.parent_frame": parent_frame, "camera_extrinsics.child_frame": child_frame,
        "camera_extrinsics.xyz": [round(float(v), 6) for v in xyz],
        "camera_extrinsics.quat_xyzw": [round(float(v), 9) for v in q]}
    for k, v in (metadata or {}).items():
        params[f"calibration.{k}"] = float(v) if isinstance(v, np.floating) else int(v) if isinstance(v, np.integer) else v
    Path(path).write_text(yaml.safe_dump({node: {"ros__parameters": params}}, sort_keys=False))


def read_calibration_yaml(path: Path | str) -> CalibrationFile:
    """Read and validate a calibration file; ValueError says what is wrong with it."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text())
    except OSError as e:
        raise ValueError(f"calibration file {p}: cannot read it ({e.strerror})") from None
    except yaml.YAMLError as e:
        raise ValueError(f"calibration file {p}: not valid YAML ({e})") from None
    if not isinstance(data, dict) or len(data) != 1:
        raise ValueError(f"calibration file {p}: expected one node key (e.g. '/**') holding ros__parameters")
    node = next(iter(data.values()))
    params = node.get("ros__parameters") if isinstance(node, dict) else None
    if not isinstance(params, dict):
        raise ValueError(f"calibration file {p}: no ros__parameters mapping")
    missing = [k for k in EXTRINSICS_KEYS if k not in params]
    if missing:
        raise ValueError(f"calibration file {p}: missing {', '.join(missing)}")
    xyz, quat = params["camera_extrinsics.xyz"], params["camera_extrinsics.quat_xyzw"]
    try:
        if not all(math.isfinite(float(v)) for v in [*xyz, *quat]):
            raise ValueError("not finite")
        T = extrinsic_from_params(list(xyz), list(quat))
    except (TypeError, ValueError) as e:
        raise ValueError(f"calibration file {p}: {e}") from None
    frames = [params["camera_extrinsics.parent_frame"], params["camera_extrinsics.child_frame"]]
    if not all(isinstance(f, str) and f.strip() for f in frames):
        raise ValueError(f"calibration file {p}: parent_frame and child_frame must be non-empty frame names")
    meta = {k.removeprefix("calibration."): v for k, v in params.items() if k.startswith("calibration.")}
    return CalibrationFile(T, frames[0], frames[1], meta)


def read_extrinsics_yaml(path: Path | str) -> np.ndarray:
    """parent_from_child (base_from_camera for eye-to-hand) of a validated calibration file."""
    return read_calibration_yaml(path).transform


class JointHistory:
    """Recent arm joint states by stamp, so a wrist camera's pose can be taken at the moment its frame
    was exposed. Not thread-safe (the node holds its lock around it)."""

    def __init__(self, horizon_s: float = 2.0, max_gap_s: float = 0.05) -> None:
        self.horizon_s, self.max_gap_s = float(horizon_s), float(max_gap_s)
        self._stamps: deque[float] = deque()
        self._joints: deque[np.ndarray] = deque()

    def add(self, stamp_s: float, q: np.ndarray) -> None:
        """A joint state; one stamped before the newest is dropped (stamps must increase)."""
        if not math.isfinite(stamp_s) or (self._stamps and stamp_s <= self._stamps[-1]):
            return
        self._stamps.append(float(stamp_s))
        self._joints.append(np.asarray(q, float).copy())
        while self._stamps and self._stamps[0] < stamp_s - self.horizon_s:
            self._stamps.popleft()
            self._joints.popleft()

    def latest(self) -> tuple[float, np.ndarray] | None:
        return (self._stamps[-1], self._joints[-1].copy()) if self._stamps else None

    def at(self, stamp_s: float) -> np.ndarray | None:
        """The joints at stamp_s: interpolated between the two states around it, or the newest when
        stamp_s is at most max_gap_s after it; None when the history does not cover stamp_s (before
        it, too far after it, or inside a gap longer than max_gap_s)."""
        if not self._stamps or not math.isfinite(stamp_s):
            return None
        stamps = list(self._stamps)
        if stamp_s >= stamps[-1]:
            return self._joints[-1].copy() if stamp_s - stamps[-1] <= self.max_gap_s else None
        i = bisect.bisect_right(stamps, stamp_s)
        if i == 0:
            return None
        t0, t1 = stamps[i - 1], stamps[i]
        if t1 - t0 > self.max_gap_s:
            return None
        w = (stamp_s - t0) / (t1 - t0)
        return (1.0 - w) * self._joints[i - 1] + w * self._joints[i]


def wrist_camera_pose(q: np.ndarray, tool0_from_camera: np.ndarray, arm: ArmKinematics = UR5_DH) -> np.ndarray:
    """base_from_camera of a camera on the wrist with the arm at joints q."""
    return arm.fk(np.asarray(q, float)) @ np.asarray(tool0_from_camera, float)
