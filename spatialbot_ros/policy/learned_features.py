"""Model inputs for the learned spatial policy, computed the same way at training and run time.

Numpy only (no torch): the ONNX backend on a robot computes exactly these arrays. The network
normalises inside its graph, so these are raw physical quantities (metres, radians, 0..1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import cv2
import numpy as np

from spatialbot_ros.core.colors import COLOR_NAMES
from spatialbot_ros.core.errors import FrameError
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.geometry import to_base
from spatialbot_ros.core.grasp import GraspConfig, top_face
from spatialbot_ros.core.grounding import RELATIONS, split_instruction
from spatialbot_ros.core.marks import Mark
from spatialbot_ros.core.object_kinds import PERCEIVED_SHAPES
from spatialbot_ros.core.task import TaskPhase

MAX_MARKS = 10
IMAGE_HW = (48, 64)
DEPTH_SCALE_M = 2.0            # depth channel = metres / this, clipped to 0..1
# the perception vocabulary, not the kinds: the network input width is fixed however many kinds exist
SHAPES = PERCEIVED_SHAPES
PHASES: tuple[TaskPhase, ...] = tuple(p for p in TaskPhase)
# place relation classes: index 0 = onto/into the support mark, then the spatial relations
PLACE_RELATIONS: tuple[str, ...] = ("support", *RELATIONS)
MARK_FEATURES = (
    ["cx", "cy", "cz", "top_x", "top_y", "top_z", "foot_long", "foot_short", "height", "axis_c2", "axis_s2",
     "img_u", "img_v", "cam_dist", "base_dist", "area"]
    + [f"color_{c}" for c in COLOR_NAMES] + ["mean_r", "mean_g", "mean_b"] + [f"shape_{s}" for s in SHAPES]
)
N_MARK_FEATURES = len(MARK_FEATURES)
# indices the network's structured heads read raw (anchors for the end-effector goal)
IDX_TOP = (3, 4, 5)
IDX_AXIS = (9, 10)
PROPRIO_FEATURES = (["tcp_x", "tcp_y", "tcp_z", "r00", "r10", "r20", "r01", "r11", "r21", "gripper_width"]
                    + [f"phase_{p.value}" for p in PHASES])
N_PROPRIO = len(PROPRIO_FEATURES)
CAMERA_FEATURES = ("right_x", "right_y", "toward_x", "toward_y", "robot_view")
N_CAMERA = len(CAMERA_FEATURES)


# the exported graph also takes the run time's grounding decision, so the action head moves toward
# the objects the policy chose (after its confidence checks and priors), not a re-derived argmax
CHOICE_NAMES = ("pick_choice", "place_choice", "relation_choice")


def no_choices(batch: int = 1) -> dict[str, np.ndarray]:
    """All-zero choice inputs: the graph uses its own argmax (nothing chosen yet)."""
    return {"pick_choice": np.zeros((batch, MAX_MARKS), np.float32),
            "place_choice": np.zeros((batch, MAX_MARKS), np.float32),
            "relation_choice": np.zeros((batch, len(PLACE_RELATIONS)), np.float32)}


@dataclass(frozen=True)
class InstructionText:
    """The phrases the text encoder embeds: what to pick and where to put it."""

    pick: str
    place: str
    viewpoint: str

    @classmethod
    def from_instruction(cls, instruction: str, default_viewpoint: str = "camera") -> InstructionText:
        parts = split_instruction(instruction, default_viewpoint)
        return cls(parts.pick_phrase, parts.place_phrase, parts.viewpoint)


def _mark_axis(points_base: np.ndarray) -> tuple[float, float, np.ndarray, float]:
    """(cos 2phi, sin 2phi) of the top face's long axis, the top-face centre and top z.

    The doubled angle makes the axis sign-free, as a parallel gripper is."""
    pts = points_base[np.all(np.isfinite(points_base), axis=1)]
    if len(pts) < 3:
        return 1.0, 0.0, np.zeros(2), 0.0
    top_z = float(np.percentile(pts[:, 2], 98))
    _, centre, evecs = top_face(pts, top_z, GraspConfig().top_band_m)
    major = evecs[:, 1]
    phi = float(np.arctan2(major[1], major[0]))
    return float(np.cos(2 * phi)), float(np.sin(2 * phi)), centre, top_z


def select_marks(marks: list[Mark]) -> list[Mark]:
    """The marks the network sees: all of them, or the MAX_MARKS largest (order kept)."""
    if len(marks) <= MAX_MARKS:
        return list(marks)
    keep = {id(m) for m in sorted(marks, key=lambda m: -m.area_px)[:MAX_MARKS]}
    return [m for m in marks if id(m) in keep]


def mark_features(marks: list[Mark], frame: RGBDFrame, base_from_camera: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(MAX_MARKS, N_MARK_FEATURES) float32 features and a bool validity mask for select_marks(marks)."""
    marks = select_marks(marks)
    k = frame.intrinsics
    feats = np.zeros((MAX_MARKS, N_MARK_FEATURES), np.float32)
    valid = np.zeros(MAX_MARKS, bool)
    for i, m in enumerate(marks):
        pts = to_base(m.points_cam, base_from_camera) if len(m.points_cam) else np.zeros((0, 3))
        c2, s2, top_xy, top_z = _mark_axis(pts)
        c = np.asarray(m.centroid_base if m.centroid_base is not None
                       else to_base(m.centroid_cam[None], base_from_camera)[0], float)
        if m.top_center_base is not None:
            top_xy = np.asarray(m.top_center_base, float)[:2]
        if len(pts) < 3:
            top_z = float(m.height_m)
        pix = frame.color_rgb[m.mask] if m.mask.shape == frame.color_rgb.shape[:2] else np.zeros((1, 3), np.uint8)
        mean_rgb = pix.reshape(-1, 3).mean(axis=0) / 255.0 if len(pix) else np.zeros(3)
        color = np.array([m.color_name == n for n in COLOR_NAMES], np.float32)
        shape = np.array([m.shape == s for s in SHAPES], np.float32)
        row = [c[0], c[1], c[2], top_xy[0], top_xy[1], top_z, max(m.footprint_m), min(m.footprint_m), m.height_m,
               c2, s2, m.centroid_px[0] / k.width, m.centroid_px[1] / k.height, float(np.linalg.norm(m.centroid_cam)),
               float(np.hypot(c[0], c[1])), m.area_px / float(k.width * k.height)]
        feats[i] = np.concatenate([np.asarray(row, np.float32), color, mean_rgb.astype(np.float32), shape])
        valid[i] = True
    return feats, valid


def camera_features(base_from_camera: np.ndarray, viewpoint: str) -> np.ndarray:
    """The camera's right and toward-camera directions on the table: what 'left of' means."""
    R = np.asarray(base_from_camera, float)[:3, :3]
    right = R[:2, 0] / max(np.linalg.norm(R[:2, 0]), 1e-9)
    toward = -R[:2, 2] / max(np.linalg.norm(R[:2, 2]), 1e-9)
    return np.array([right[0], right[1], toward[0], toward[1], 1.0 if viewpoint == "robot" else 0.0], np.float32)


def proprio_features(tcp_pose_base: np.ndarray, gripper_width_m: float, phase: TaskPhase) -> np.ndarray:
    T = np.asarray(tcp_pose_base, float)
    if T.shape != (4, 4) or not np.all(np.isfinite(T)):
        raise ValueError(f"tcp pose must be a finite 4x4 matrix, got shape {T.shape}")
    if not np.isfinite(gripper_width_m):
        raise ValueError("gripper width must be finite")
    phase_1h = np.array([phase == p for p in PHASES], np.float32)
    return np.concatenate([T[:3, 3], T[:3, 0], T[:3, 1], [gripper_width_m], phase_1h]).astype(np.float32)


def image_tensor(frame: RGBDFrame) -> np.ndarray:
    """(4, H, W) float32: RGB in 0..1 and depth (m / DEPTH_SCALE_M) as its own channel."""
    return image_tensor_from_arrays(frame.color_rgb, frame.depth_mm)


def image_tensor_from_arrays(color: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """image_tensor for a uint8 RGB image and a depth image in mm of any (matching) size."""
    if color.ndim != 3 or color.shape[2] != 3 or depth.shape != color.shape[:2]:
        raise FrameError(f"image_tensor: colour {color.shape} and depth {depth.shape} do not match")
    h, w = IMAGE_HW
    rgb = cv2.resize(color, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    d = cv2.resize(depth.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA) / (1000.0 * DEPTH_SCALE_M)
    return np.concatenate([rgb.transpose(2, 0, 1), np.clip(d, 0, 1)[None]], axis=0).astype(np.float32)


_WS = re.compile(r"\s+")


def normalise_phrase(text: str) -> str:
    return _WS.sub(" ", text.strip().lower())
