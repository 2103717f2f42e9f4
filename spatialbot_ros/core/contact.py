"""Contact judgment from depth, the SpatialBot way: compare where the gripper's fingertips are with
where the depth image says the object's surface is, around the contact region.

For a parallel gripper the contact region is the slab around the closing axis (the line through
both fingertips). Object surface points inside that slab come from the aligned depth image; the
gap of each finger is the distance, along the closing axis, from its pad to the object's extreme
surface point on its side. Pixels hidden by the gripper itself (depth moved toward the camera
since the reference look) are ignored, so the finger cannot fake its own contact.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.geometry import deproject
from spatialbot_ros.core.marks import Mark
from spatialbot_ros.core.transforms import invert, transform_points

_FINGER_NAMES = ("left", "right")


@dataclass(frozen=True)
class ContactConfig:
    tolerance_mm: float = 3.0          # gap at or below this counts as touching
    slab_radius_m: float = 0.018       # contact region: distance from the closing axis
    occlusion_tol_mm: float = 10.0     # depth change that marks a pixel as hidden by the gripper
    min_points: int = 8
    mask_grow_px: int = 4


@dataclass(frozen=True)
class ContactJudgment:
    touching: bool
    gap_mm: float
    per_finger_gap_mm: tuple[float, ...]
    evidence: str
    valid: bool = True
    points_used: int = 0


def _invalid(reason: str, n: int) -> ContactJudgment:
    return ContactJudgment(False, float("nan"), tuple([float("nan")] * n), f"no depth evidence: {reason}", False)


def judge_contact(frame: RGBDFrame, fingertips: np.ndarray, object_mask: np.ndarray | Mark | None,
                  config: ContactConfig | None = None, base_from_camera: np.ndarray | None = None,
                  points_frame: str = "camera", reference_depth_mm: np.ndarray | None = None) -> ContactJudgment:
    """Is the gripper touching the object? fingertips: (2,3) pad-centre points (left, right)."""
    cfg = config or ContactConfig()
    tips = np.asarray(fingertips, dtype=float).reshape(-1, 3)
    n = len(tips)
    if n != 2:
        raise ValueError(f"contact: expected 2 fingertip points (left, right), got {n}")
    if not np.all(np.isfinite(tips)):
        return _invalid("fingertip positions are not finite", n)
    if points_frame == "base":
        if base_from_camera is None:
            raise ValueError("contact: fingertips in the base frame need base_from_camera")
        tips = transform_points(invert(np.asarray(base_from_camera, float)), tips)
    elif points_frame != "camera":
        raise ValueError(f"contact: points_frame must be 'camera' or 'base', not '{points_frame}'")
    if isinstance(object_mask, Mark):
        object_mask = object_mask.mask
    if object_mask is None:
        object_mask = np.ones(frame.shape, dtype=bool)
    if object_mask.shape != frame.shape:
        raise ValueError(f"contact: mask {object_mask.shape} does not match the frame {frame.shape}")
    if np.any(tips[:, 2] <= 0):
        return _invalid("a fingertip is behind the camera", n)
    k = frame.intrinsics
    uv = np.stack([tips[:, 0] / tips[:, 2] * k.fx + k.cx, tips[:, 1] / tips[:, 2] * k.fy + k.cy], axis=1)
    if np.any((uv[:, 0] < 0) | (uv[:, 0] >= k.width) | (uv[:, 1] < 0) | (uv[:, 1] >= k.height)):
        return _invalid("a fingertip projects outside the image", n)

    axis = tips[0] - tips[1]
    span = float(np.linalg.norm(axis))
    if span < 1e-4:
        return _invalid("fingertips coincide (gripper fully closed): no closing axis", n)
    axis /= span
    # window in the image: the bounding box of both tips grown by the slab radius (pixels)
    z_min = float(tips[:, 2].min())
    pad = int(np.ceil(cfg.slab_radius_m * max(k.fx, k.fy) / max(z_min - cfg.slab_radius_m, 0.05))) + 2
    u0, v0 = np.floor(uv.min(axis=0)).astype(int) - pad
    u1, v1 = np.ceil(uv.max(axis=0)).astype(int) + pad
    u0, v0, u1, v1 = max(u0, 0), max(v0, 0), min(u1, k.width), min(v1, k.height)
    hidden = 0
    obj = object_mask[v0:v1, u0:u1].astype(np.uint8)
    if cfg.mask_grow_px > 0:  # segmentation drops the silhouette pixels, where side contacts happen
        size = 2 * cfg.mask_grow_px + 1
        obj = cv2.dilate(obj, np.ones((size, size), np.uint8))
    obj = obj.astype(bool)
    now = frame.depth_mm[v0:v1, u0:u1]
    sources = [("current", obj & (now > 0), now)]
    if reference_depth_mm is not None:
        ref = reference_depth_mm[v0:v1, u0:u1]
        hidden_px = obj & (now > 0) & (ref > 0) & (now.astype(np.float32) < ref.astype(np.float32) - cfg.occlusion_tol_mm)
        hidden = int(np.count_nonzero(hidden_px))
        sources = [("current", obj & (now > 0) & ~hidden_px, now), ("pre-grasp", obj & (ref > 0), ref)]
    mid = tips.mean(axis=0)
    half = span / 2
    best_gaps = np.array([np.inf, np.inf])
    used = 0
    for _, sel, depth in sources:
        vv, uu = np.nonzero(sel)
        if len(uu) == 0:
            continue
        pts = deproject(uu + u0, vv + v0, depth[vv, uu].astype(float) * 1e-3, k)
        rel = pts - mid
        along = rel @ axis
        radial = np.linalg.norm(rel - np.outer(along, axis), axis=1)
        slab = (radial <= cfg.slab_radius_m) & (np.abs(along) <= half + 0.03)
        if np.count_nonzero(slab) < cfg.min_points:
            continue
        a = along[slab]
        used += int(np.count_nonzero(slab))
        best_gaps = np.minimum(best_gaps, [half - a.max(), a.min() + half])  # left tip is at +axis
    if used == 0:
        return _invalid("too few object surface points in the contact region", n)
    gaps_mm = tuple(float(g * 1000.0) for g in best_gaps)
    best = float(min(gaps_mm))
    touching = best <= cfg.tolerance_mm
    detail = ", ".join(f"{name} pad {max(g, 0.0):.1f} mm" + (" (pressing)" if g < 0 else "")
                       for name, g in zip(_FINGER_NAMES, gaps_mm, strict=True))
    evidence = (f"{'touching' if touching else 'not touching'}: {detail} from the object's surface "
                f"(tolerance {cfg.tolerance_mm:.0f} mm; {used} depth points"
                + (f"; {hidden} pixels hidden by the gripper read from the pre-grasp view" if hidden else "") + ")")
    return ContactJudgment(touching, max(best, 0.0), gaps_mm, evidence, True, used)
