"""`spatialbot-ros calibrate`: hand-eye calibration of the RealSense from recorded views.

A samples directory (recorded on the cell, or written by `--sim --save-samples`):

    camera.yaml        colour intrinsics: width, height, fx, fy, cx, cy, distortion
                       (a CameraInfo echo with k/d or a camera_calibration YAML also work)
    board.yaml         squares_x, squares_y, square_length_m, marker_length_m, dictionary
    <view>.png         colour image of the board, one per robot pose
    <view>.yaml        base_from_tool0: {xyz: [..], quat_xyzw: [..]} (or a Pose echo: position,
                       orientation) and/or joints: [6 rad, UR order] (or {name: rad}, or
                       joint_state: a JointState echo) with ur_type; .yml / .json too; a pose and
                       joints given together must agree
    sim_truth.yaml     simulator only: the true camera pose (calibration file format), to print
                       the error against it

Every image is searched for the board; views without it are reported and skipped. The solve is
OpenCV's calibrateHandEye refined on the corner reprojection; the result is refused (nothing
written, exit code 1) when too few views are usable or the residual is over the limits.
"""

from __future__ import annotations

import logging
import math
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TextIO

import cv2
import numpy as np
import yaml
from scipy.spatial.transform import Rotation

from spatialbot_ros.core.charuco import BoardNotFound, BoardSpec, CameraModel, detect_board, load_yaml_mapping
from spatialbot_ros.core.hand_eye import (
    METHODS,
    HandEyeResult,
    calibrate_hand_eye,
    chain_reprojection_px,
    read_calibration_yaml,
    refine_hand_eye,
    write_extrinsics_yaml,
)
from spatialbot_ros.core.transforms import pose_from_xyz_quat, pose_to_xyz_quat
from spatialbot_ros.core.ur_kinematics import UR_JOINT_NAMES, dh_for, fk

log = logging.getLogger(__name__)

CAMERA_FILE, BOARD_FILE, TRUTH_FILE = "camera.yaml", "board.yaml", "sim_truth.yaml"
POSE_SUFFIXES = (".yaml", ".yml", ".json")
POSE_AGREEMENT = (1e-3, 0.1)  # m, deg: a pose and joints in one view file must agree this well


class CalibrationMode(StrEnum):
    EYE_TO_HAND = "eye_to_hand"     # camera fixed in the cell, board on the gripper
    EYE_IN_HAND = "eye_in_hand"     # camera on the wrist, board fixed in the cell


class CalibrationError(ValueError):
    """Input that cannot give a calibration; the message is one line for the user."""


@dataclass(frozen=True)
class Sample:
    name: str
    image: np.ndarray                   # HxWx3 rgb8
    base_from_tool0: np.ndarray
    joints: np.ndarray | None = None
    ur_type: str | None = None


@dataclass(frozen=True)
class SampleSet:
    camera: CameraModel
    board: BoardSpec
    samples: list[Sample]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (view, why) found while loading
    truth: np.ndarray | None = None     # the simulator's true camera pose, when known ..
    truth_parent_frame: str = "base"    # .. in this frame (tool0: a wrist camera)


@dataclass(frozen=True)
class Acceptance:
    """Limits a calibration must meet to be written."""

    min_views: int = 5
    max_residual_mm: float = 5.0        # RMS spread of the board position implied by each view
    max_residual_deg: float = 1.0       # RMS spread of the board orientation
    max_reprojection_px: float = 2.0    # mean corner reprojection through the calibrated chain


@dataclass(frozen=True)
class CalibrationReport:
    mode: CalibrationMode
    result: HandEyeResult
    views_total: int
    skipped: list[tuple[str, str]]
    detection_reprojection_px: float    # mean over views of the per-view board-pose fit
    chain_reprojection_px: float        # through robot pose, calibration and board pose
    refined: bool
    worst_view: tuple[str, float] = ("", 0.0)  # the view with the largest chain reprojection, px
    error_vs_truth: tuple[float, float] | None = None  # mm, deg

    @property
    def views_used(self) -> int:
        return self.result.samples

    def problems(self, acc: Acceptance) -> list[str]:
        r = self.result
        out = []
        if r.residual_m * 1e3 > acc.max_residual_mm:
            out.append(f"board position spread {r.residual_m * 1e3:.2f} mm > {acc.max_residual_mm:g} mm")
        if r.residual_deg > acc.max_residual_deg:
            out.append(f"board rotation spread {r.residual_deg:.3f} deg > {acc.max_residual_deg:g} deg")
        if self.chain_reprojection_px > acc.max_reprojection_px:
            out.append(f"reprojection {self.chain_reprojection_px:.2f} px > {acc.max_reprojection_px:g} px")
        return out

    def lines(self) -> list[str]:
        r = self.result
        xyz, q = pose_to_xyz_quat(r.transform)
        child = "tool0_from_camera" if r.eye_in_hand else "base_from_camera"
        out = [f"{self.mode.value}, {r.method}{' + reprojection refinement' if self.refined else ''}: "
               f"{self.views_used} of {self.views_total} views used"]
        out += [f"  skipped {name}: {why}" for name, why in self.skipped]
        out += [f"  {child}: xyz [{', '.join(f'{v:.4f}' for v in xyz)}] m, "
                f"quat_xyzw [{', '.join(f'{v:.5f}' for v in q)}]",
                f"  residual: board position spread {r.residual_m * 1e3:.2f} mm RMS ({r.residual_max_m * 1e3:.2f} max), "
                f"rotation spread {r.residual_deg:.3f} deg RMS",
                f"  reprojection: {self.detection_reprojection_px:.3f} px board fit, "
                f"{self.chain_reprojection_px:.3f} px through the calibrated chain "
                f"(worst {self.worst_view[0]}: {self.worst_view[1]:.3f} px)"]
        if self.error_vs_truth is not None:
            out.append(f"  error vs simulator truth: {self.error_vs_truth[0]:.2f} mm, {self.error_vs_truth[1]:.3f} deg")
        return out

    def metadata(self) -> dict[str, object]:
        r = self.result
        return {"mode": self.mode.value, "method": r.method, "refined": self.refined, "views": self.views_used,
                "residual_mm": round(r.residual_m * 1e3, 3), "residual_deg": round(r.residual_deg, 4),
                "reprojection_px": round(self.chain_reprojection_px, 4),
                "date": datetime.now(UTC).isoformat(timespec="seconds")}


# -- samples directory ---------------------------------------------------------------------------

def _pose_entry(name: str, p: object) -> np.ndarray:
    """base_from_tool0 as {xyz, quat_xyzw} or a geometry_msgs/Pose echo {position, orientation}."""
    try:
        if isinstance(p, dict) and "position" in p:
            xyz = [float(p["position"][k]) for k in "xyz"]
            quat = [float(p["orientation"][k]) for k in "xyzw"]
        else:
            xyz, quat = [float(v) for v in p["xyz"]], [float(v) for v in p["quat_xyzw"]]  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        raise CalibrationError(f"{name}: base_from_tool0 needs xyz (3 numbers) and quat_xyzw (4), or position "
                               "{x, y, z} and orientation {x, y, z, w}") from None
    if len(xyz) != 3 or len(quat) != 4 or not all(map(math.isfinite, xyz + quat)) \
            or abs(np.linalg.norm(quat) - 1.0) > 1e-3:
        raise CalibrationError(f"{name}: base_from_tool0 needs 3 finite xyz and a unit quaternion x,y,z,w")
    return pose_from_xyz_quat(xyz, quat)


def _joints_entry(name: str, d: dict) -> np.ndarray:
    """Six angles in UR order, a {joint_name: angle} mapping, or a sensor_msgs/JointState echo
    (joint_state: {name, position}; the UR driver publishes them in its own order, tf_prefix allowed)."""
    raw = d.get("joints", d.get("joint_state"))
    try:
        if isinstance(raw, dict) and "position" in raw:
            raw = dict(zip(raw["name"], raw["position"], strict=True))
        if isinstance(raw, dict):
            by_suffix = {j: [float(v) for k, v in raw.items() if str(k).endswith(j)] for j in UR_JOINT_NAMES}
        else:
            q = np.array([float(v) for v in raw])
    except (TypeError, ValueError):
        raise CalibrationError(f"{name}: joints must be 6 angles (rad), a name->angle mapping or a JointState") from None
    if isinstance(raw, dict):
        missing = [j for j, v in by_suffix.items() if len(v) != 1]
        if missing:
            raise CalibrationError(f"{name}: joints lack (or repeat) {', '.join(missing)}")
        q = np.array([by_suffix[j][0] for j in UR_JOINT_NAMES])
    if q.shape != (6,):
        raise CalibrationError(f"{name}: joints must be 6 angles in radians, got {q.size}")
    return q


def _pose_from_view_file(path: Path) -> tuple[np.ndarray, np.ndarray | None, str | None]:
    """(base_from_tool0, joints, ur_type) of one view; a pose and joints given together must agree."""
    d = load_yaml_mapping(path, "view pose")
    pose = _pose_entry(path.name, d["base_from_tool0"]) if "base_from_tool0" in d else None
    if "joints" not in d and "joint_state" not in d:
        if pose is None:
            raise CalibrationError(f"{path.name}: needs base_from_tool0 (xyz, quat_xyzw) or joints with ur_type")
        return pose, None, None
    joints = _joints_entry(path.name, d)
    if not np.all(np.isfinite(joints)):
        raise CalibrationError(f"{path.name}: joints must be finite")
    if "ur_type" not in d:
        raise CalibrationError(f"{path.name}: joints need ur_type (ur5 or ur5e) beside them")
    try:
        ur_type, dh = str(d["ur_type"]), dh_for(str(d["ur_type"]))
    except ValueError as e:
        raise CalibrationError(f"{path.name}: {e}") from None
    from_joints = fk(joints, dh)
    if pose is None:
        return from_joints, joints, ur_type
    dp = np.linalg.norm(pose[:3, 3] - from_joints[:3, 3])
    da = np.degrees(Rotation.from_matrix(pose[:3, :3] @ from_joints[:3, :3].T).magnitude())
    if dp > POSE_AGREEMENT[0] or da > POSE_AGREEMENT[1]:
        raise CalibrationError(f"{path.name}: base_from_tool0 and the {ur_type} forward kinematics of the joints "
                               f"differ by {dp * 1e3:.1f} mm / {da:.2f} deg (wrong ur_type or a stale pose?)")
    return pose, joints, ur_type


def _read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise CalibrationError(f"{path.name}: not a readable image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def load_samples(directory: Path | str, board: BoardSpec | None = None, camera: CameraModel | None = None) -> SampleSet:
    """Read a samples directory; `board` / `camera` replace its board.yaml / camera.yaml."""
    root = Path(directory)
    if not root.is_dir():
        raise CalibrationError(f"samples directory {root} does not exist")
    try:
        if camera is None:
            if not (root / CAMERA_FILE).is_file():
                raise CalibrationError(f"{root}: no {CAMERA_FILE} (colour intrinsics); record it or pass --camera")
            camera = CameraModel.from_dict(load_yaml_mapping(root / CAMERA_FILE, "camera"))
        if board is None:
            if not (root / BOARD_FILE).is_file():
                raise CalibrationError(f"{root}: no {BOARD_FILE}; pass --board FILE or the board flags")
            board = BoardSpec.from_dict(load_yaml_mapping(root / BOARD_FILE, "board"))
    except CalibrationError:
        raise
    except ValueError as e:
        raise CalibrationError(str(e)) from None
    samples, skipped = [], []
    for img in sorted(root.glob("*.png")):
        pose_file = next((img.with_suffix(s) for s in POSE_SUFFIXES if img.with_suffix(s).is_file()), None)
        if pose_file is None:
            skipped.append((img.stem, f"no pose file ({img.stem}.yaml)"))
            continue
        try:
            pose, joints, ur_type = _pose_from_view_file(pose_file)
        except ValueError as e:
            raise CalibrationError(str(e)) from None
        samples.append(Sample(img.stem, _read_rgb(img), pose, joints, ur_type))
    if not samples and not skipped:
        raise CalibrationError(f"{root}: no view images (*.png)")
    if (root / TRUTH_FILE).is_file():
        truth = read_calibration_yaml(root / TRUTH_FILE)
        return SampleSet(camera, board, samples, skipped, truth.transform, truth.parent_frame)
    return SampleSet(camera, board, samples, skipped)


def save_samples(directory: Path | str, samples: SampleSet) -> Path:
    """Write a samples directory in the format load_samples reads."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    (root / CAMERA_FILE).write_text(yaml.safe_dump(samples.camera.to_dict(), sort_keys=False))
    (root / BOARD_FILE).write_text(yaml.safe_dump(samples.board.to_dict(), sort_keys=False))
    for s in samples.samples:
        if not cv2.imwrite(str(root / f"{s.name}.png"), cv2.cvtColor(s.image, cv2.COLOR_RGB2BGR)):
            raise CalibrationError(f"could not write {root / s.name}.png")
        xyz, q = pose_to_xyz_quat(s.base_from_tool0)
        view: dict[str, object] = {"base_from_tool0": {"xyz": [float(v) for v in xyz],
                                                       "quat_xyzw": [float(v) for v in q]}}
        if s.joints is not None:
            view.update(joints=[float(v) for v in s.joints], ur_type=s.ur_type)
        (root / f"{s.name}.yaml").write_text(yaml.safe_dump(view, sort_keys=False))
    if samples.truth is not None:
        write_extrinsics_yaml(root / TRUTH_FILE, samples.truth, parent_frame=samples.truth_parent_frame,
                              metadata={"source": "simulator truth"})
    return root


def sim_samples(views: int, seed: int, mode: CalibrationMode = CalibrationMode.EYE_TO_HAND,
                image_noise_std: float = 0.0, image_blur_px: float = 0.0, joint_noise_rad: float = 0.0) -> SampleSet:
    """Views rendered in the MuJoCo cell, with the simulator's camera pose as truth."""
    from spatialbot_ros.sim.calibration_views import CalibrationSimConfig, render_calibration_views

    eye_in_hand = mode is CalibrationMode.EYE_IN_HAND
    vs = render_calibration_views(CalibrationSimConfig(
        views=views, seed=seed, eye_in_hand=eye_in_hand, image_noise_std=image_noise_std, image_blur_px=image_blur_px,
        joint_noise_rad=joint_noise_rad))
    return SampleSet(vs.camera, vs.board, [Sample(v.name, v.image, v.base_from_tool0, v.joints, vs.ur_type)
                                           for v in vs.views], truth=vs.camera_truth,
                     truth_parent_frame="tool0" if eye_in_hand else "base")


# -- solve ---------------------------------------------------------------------------------------

def pose_error(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(translation mm, rotation deg) between two poses."""
    return (float(np.linalg.norm(a[:3, 3] - b[:3, 3]) * 1e3),
            float(np.degrees(Rotation.from_matrix(a[:3, :3] @ b[:3, :3].T).magnitude())))


def calibrate_samples(samples: SampleSet, mode: CalibrationMode = CalibrationMode.EYE_TO_HAND, method: str = "park",
                      refine: bool = True, min_views: int = Acceptance.min_views) -> CalibrationReport:
    """Detect the board in every view, solve, refine; CalibrationError when too few views are usable."""
    if method not in METHODS:
        raise CalibrationError(f"unknown method '{method}'; one of {', '.join(METHODS)}")
    skipped = list(samples.skipped)
    used, detections = [], []
    for s in samples.samples:
        try:
            detections.append(detect_board(s.image, samples.board, samples.camera))
            used.append(s)
        except BoardNotFound as e:
            skipped.append((s.name, str(e)))
    total = len(samples.samples) + len(samples.skipped)
    need = max(3, min_views)
    if len(used) < need:
        why = "; ".join(f"{n}: {w}" for n, w in skipped[:3]) + (" ..." if len(skipped) > 3 else "")
        raise CalibrationError(f"only {len(used)} of {total} views usable (need {need})"
                               + (f" - {why}" if why else ""))
    robot = [s.base_from_tool0 for s in used]
    seen = [d.camera_from_board for d in detections]
    obj, img = [d.object_points for d in detections], [d.image_points for d in detections]
    eye_in_hand = mode is CalibrationMode.EYE_IN_HAND
    try:
        result = calibrate_hand_eye(robot, seen, eye_in_hand=eye_in_hand, method=method)
        if refine:
            result = refine_hand_eye(result, robot, seen, obj, img, samples.camera.matrix, samples.camera.dist)
    except ValueError as e:
        raise CalibrationError(str(e)) from None
    per_view = chain_reprojection_px(result, robot, obj, img, samples.camera.matrix, samples.camera.dist)
    corners = np.array([len(o) for o in obj])
    chain_px = float(np.dot(per_view, corners) / corners.sum())
    worst = int(np.argmax(per_view))
    err = None
    if samples.truth is not None:
        if samples.truth_parent_frame == result.parent_frame:
            err = pose_error(result.transform, samples.truth)
        else:
            log.warning("the truth file gives the camera in %s, this %s calibration in %s: not compared",
                        samples.truth_parent_frame, mode.value, result.parent_frame)
    return CalibrationReport(mode, result, total, skipped, float(np.mean([d.reprojection_px for d in detections])),
                             chain_px, refine, (used[worst].name, per_view[worst]), err)


# -- the command ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class CalibrateOptions:
    out: Path
    samples: Path | None = None
    sim: bool = False
    views: int = 12
    seed: int = 0
    save_samples: Path | None = None
    sim_noise: tuple[float, float, float] = (0.0, 0.0, 0.0)  # image noise std, blur px, joint noise rad
    mode: CalibrationMode = CalibrationMode.EYE_TO_HAND
    method: str = "park"
    refine: bool = True
    board_file: Path | None = None
    board_overrides: dict = field(default_factory=dict)   # board keys given as flags
    camera_file: Path | None = None
    acceptance: Acceptance = field(default_factory=Acceptance)
    base_frame: str = "base"
    tool_frame: str = "tool0"
    camera_frame: str = "camera_color_optical_frame"


def _board_from_options(opts: CalibrateOptions) -> BoardSpec | None:
    given = {k: v for k, v in opts.board_overrides.items() if v is not None}
    if opts.board_file is None and not given:
        return None
    base: dict = {}
    if opts.board_file is not None:
        base = load_yaml_mapping(opts.board_file, "board")
    elif opts.samples is not None and (opts.samples / BOARD_FILE).is_file():
        base = load_yaml_mapping(opts.samples / BOARD_FILE, "board")
    return BoardSpec.from_dict({**base, **given})


def run_calibrate(opts: CalibrateOptions, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """The whole command: 0 written, 1 refused (too few views, residual over the limits), 2 bad input."""
    out = out or sys.stdout
    err = err or sys.stderr

    def fail(code: int, msg: str) -> int:
        print(f"calibrate: {msg}", file=err)
        return code

    if opts.sim == (opts.samples is not None):
        return fail(2, "give exactly one of --samples DIR or --sim")
    try:
        if opts.sim:
            samples = sim_samples(opts.views, opts.seed, opts.mode, *opts.sim_noise)
            if opts.save_samples is not None:
                save_samples(opts.save_samples, samples)
                print(f"saved {len(samples.samples)} views to {opts.save_samples}", file=out)
                samples = load_samples(opts.save_samples)   # calibrate from disk: the real-cell path
        else:
            camera = None
            if opts.camera_file is not None:
                camera = CameraModel.from_dict(load_yaml_mapping(opts.camera_file, "camera"))
            samples = load_samples(opts.samples, _board_from_options(opts), camera)
    except (CalibrationError, ValueError, RuntimeError) as e:
        return fail(2, str(e))
    try:
        report = calibrate_samples(samples, opts.mode, opts.method, opts.refine, opts.acceptance.min_views)
    except CalibrationError as e:
        return fail(1, f"refused: {e}")
    for line in report.lines():
        print(line, file=out)
    problems = report.problems(opts.acceptance)
    if problems:
        return fail(1, f"refused, nothing written: {'; '.join(problems)} (loosen with --max-residual-mm/-deg/-px)")
    parent = opts.tool_frame if report.result.eye_in_hand else opts.base_frame
    meta = report.metadata()
    meta["source"] = "sim" if opts.sim else str(opts.samples)
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    write_extrinsics_yaml(opts.out, report.result.transform, parent_frame=parent, child_frame=opts.camera_frame,
                          metadata=meta)
    print(f"wrote {opts.out} ({parent} -> {opts.camera_frame})", file=out)
    return 0
