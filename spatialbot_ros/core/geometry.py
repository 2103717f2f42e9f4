"""Pinhole camera geometry: pixels + depth <-> 3-D points in the colour optical frame."""

from __future__ import annotations

import numpy as np

from spatialbot_ros.core.errors import FrameError
from spatialbot_ros.core.frame import CameraIntrinsics
from spatialbot_ros.core.transforms import transform_points

_RIGID_TOL = 1e-3  # calibration files round to ~6 decimals; scale/shear errors are far larger


def deproject(u: np.ndarray | float, v: np.ndarray | float, depth_m: np.ndarray | float, k: CameraIntrinsics) -> np.ndarray:
    """Pixels (u right, v down) with depth along z -> points (..., 3) in the optical frame."""
    u, v, z = np.broadcast_arrays(np.asarray(u, float), np.asarray(v, float), np.asarray(depth_m, float))
    x = (u - k.cx) / k.fx * z
    y = (v - k.cy) / k.fy * z
    return np.stack([x, y, z], axis=-1)


def project(points_cam: np.ndarray, k: CameraIntrinsics) -> np.ndarray:
    """Points (..., 3) in the optical frame -> pixels (..., 2); points behind the camera are an error."""
    p = np.asarray(points_cam, dtype=float)
    if p.shape[-1:] != (3,):
        raise FrameError(f"project: points must be (..., 3), got shape {p.shape}")
    if not np.all(np.isfinite(p)):
        raise FrameError("project: point(s) are NaN or infinite (a depth hole?)")
    z = p[..., 2]
    if np.any(z <= 0):
        raise FrameError("project: point(s) at or behind the camera plane (z <= 0)")
    return np.stack([p[..., 0] / z * k.fx + k.cx, p[..., 1] / z * k.fy + k.cy], axis=-1)


def depth_image_to_points(depth_mm: np.ndarray, k: CameraIntrinsics, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Organised point cloud: (H', W', 3) metres (NaN where no depth) and the valid mask.

    stride > 1 subsamples rows and columns (pixel coordinates stay those of the full image).
    """
    if depth_mm.shape != (k.height, k.width):
        raise FrameError(f"depth {depth_mm.shape} does not match intrinsics {k.width}x{k.height}")
    if isinstance(stride, bool) or not isinstance(stride, int | np.integer) or stride < 1:
        raise FrameError(f"stride must be a positive integer, got {stride!r}")
    d = depth_mm[::stride, ::stride]
    v, u = np.mgrid[0 : k.height : stride, 0 : k.width : stride]
    z = d.astype(np.float32) * np.float32(1e-3)
    valid = d > 0
    pts = np.empty(d.shape + (3,), dtype=np.float32)
    pts[..., 0] = (u - np.float32(k.cx)) * (z / np.float32(k.fx))
    pts[..., 1] = (v - np.float32(k.cy)) * (z / np.float32(k.fy))
    pts[..., 2] = z
    pts[~valid] = np.nan
    return pts, valid


def roi_points(depth_mm: np.ndarray, k: CameraIntrinsics, mask: np.ndarray | None = None,
               box_xyxy: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """(N,3) points of valid depth pixels inside a mask and/or box (x0,y0,x1,y1 exclusive)."""
    sel = depth_mm > 0
    if mask is not None:
        if mask.shape != depth_mm.shape:
            raise FrameError(f"roi mask {mask.shape} does not match depth {depth_mm.shape}")
        sel = sel & mask.astype(bool)
    if box_xyxy is not None:
        if len(box_xyxy) != 4 or not np.all(np.isfinite(np.asarray(box_xyxy, dtype=float))):
            raise FrameError(f"roi box must be 4 finite numbers (x0, y0, x1, y1), got {box_xyxy}")
        x0, y0, x1, y1 = (int(b) for b in box_xyxy)
        h, w = depth_mm.shape
        x0, x1 = max(0, x0), min(w, x1)
        y0, y1 = max(0, y0), min(h, y1)
        box = np.zeros_like(sel)
        box[y0:y1, x0:x1] = True
        sel = sel & box
    v, u = np.nonzero(sel)
    return deproject(u, v, depth_mm[v, u].astype(float) * 1e-3, k).reshape(-1, 3)


def to_base(points_cam: np.ndarray, base_from_camera: np.ndarray) -> np.ndarray:
    """Points (N,3) or (3,) from the optical frame into the robot base frame with a 4x4 extrinsic.

    The extrinsic must be rigid (a rotation, not a scale, shear or mirror): a bad calibration
    file is refused here instead of silently moving every grasp target.
    """
    T = np.asarray(base_from_camera, dtype=float)
    if T.shape != (4, 4) or not np.allclose(T[3], [0, 0, 0, 1]):
        raise FrameError(f"base_from_camera must be a 4x4 homogeneous transform, got shape {T.shape}")
    if not np.all(np.isfinite(T)):
        raise FrameError("base_from_camera has NaN or infinite entries")
    R = T[:3, :3]
    if not np.allclose(R.T @ R, np.eye(3), atol=_RIGID_TOL) or np.linalg.det(R) < 0:
        raise FrameError("base_from_camera is not rigid: its rotation block is not orthonormal with det +1")
    p = np.asarray(points_cam, dtype=float)
    if p.shape[-1:] != (3,) or p.ndim > 2:
        raise FrameError(f"points must be (N,3) or (3,), got shape {p.shape}")
    return transform_points(T, p)
