"""Set-of-Mark proposals without a learned model: RANSAC support plane, objects as connected
regions above it (split at depth discontinuities), each described in 2-D and 3-D and numbered
left to right so the same scene always gets the same marks."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import cv2
import numpy as np

from spatialbot_ros.core.colors import name_color, paint_evidence
from spatialbot_ros.core.errors import FrameError
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.geometry import deproject, depth_image_to_points
from spatialbot_ros.core.marks import DepthStats, Mark, Proposals, SupportPlane, Unmeasured
from spatialbot_ros.core.transforms import transform_points

# A sphere shows little surface below its equator; a wall shows as much low as at mid height. The
# ratio of a mark's points in its bottom quarter (of height) to those in its middle fifth, measured on
# MuJoCo scenes and ManiSkill seeds 1000-1099 (not the reported 0-99): balls <= 0.05 from the MuJoCo
# cell's camera and up to ~0.17 from ManiSkill PlaceSphere's low one; cylinder walls >= 0.68; ManiSkill
# cubes seen from above down to ~0.25. So a mark with a round top (a disc fills ~pi/4 of its
# rectangle, a box's top ~1) may have up to 0.35, any other only 0.15.
SPHERE_MAX_LOW_TO_MID = 0.15
ROUND_TOP_SPHERE_MAX_LOW_TO_MID = 0.35
ROUND_TOP_MAX_FILL = 0.88
# A cylinder's wall points lie on a circle, a box's on the sides of its footprint rectangle: a mark is
# a cylinder only if the circle explains them better than the rectangle by this factor. Measured on
# 150 generated MuJoCo scenes and ManiSkill StackCube seeds 1000-1099 (not the reported 0-99): circle
# rms / rectangle rms <= 0.06 for cups, >= 1.2 for MuJoCo boxes, >= 0.83 for ManiSkill cubes (one, at
# 1.01 with a 1.9 mm circle rms, was called a cylinder by the 2 mm circle test alone). A ratio, so
# depth noise, which adds to both residuals, moves it toward 1 rather than across.
CYLINDER_MAX_CIRCLE_TO_RECT = 0.5
# The shape test fits circles down to this radius: a 30 mm-wide cup (an espresso cup, a test tube
# rack's vial) is a cylinder, not the box its round top's fill (pi/4 >= 0.7) would otherwise make it.
# Merging regions into one object keeps _fit_circle's 20 mm floor (small arcs are not cup walls there).
SHAPE_MIN_CIRCLE_RADIUS_M = 0.012


def _rect_distance(xy: np.ndarray, rect: tuple) -> np.ndarray:
    """Signed distance of points to a cv2.minAreaRect rectangle's boundary (negative inside)."""
    (cx, cy), (w, h), angle = rect
    a = math.radians(angle)
    d = np.asarray(xy, np.float64) - (cx, cy)
    along = np.abs(d @ np.array([math.cos(a), math.sin(a)]))
    across = np.abs(d @ np.array([-math.sin(a), math.cos(a)]))
    return np.maximum(along - w / 2, across - h / 2)


@dataclass
class _Part:
    """One object's pixels before it is described: the region, its box, points sampled from it
    (heights above the table, on-plane coordinates) and what it stands on (0 and None: the table)."""

    region: np.ndarray
    box: tuple[int, int, int, int]
    uu: np.ndarray
    vv: np.ndarray
    pts: np.ndarray
    h: np.ndarray
    xy: np.ndarray
    base_h: float = 0.0
    support: _Part | None = None


@dataclass(frozen=True)
class ProposerConfig:
    plane_stride: int = 4              # RANSAC on every n-th pixel
    plane_iterations: int = 64
    plane_samples: int = 2000
    plane_threshold_m: float = 0.006
    plane_min_inlier_fraction: float = 0.2
    min_height_m: float = 0.006        # above the plane = object
    max_height_m: float = 0.28         # higher is the robot, not an object on the table
    edge_jump_mm: float = 12.0         # depth step that separates touching regions in the image
    min_area_px: int = 120
    max_footprint_m: float = 0.3
    # a region wider than max_footprint_m with at least this many painted pixels (a hue, or white / black
    # beyond the grey's shading) holds an object that cannot be measured (Proposals.unmeasured); the UR5's
    # own links are grey
    unmeasured_min_px: int = 150
    # a mark narrower than this and than sliver_max_ratio of its length is a sliver of an object hidden behind
    # others (a bowl behind a row of cups), not an object: reported in Proposals.unmeasured, not as a mark
    sliver_max_width_m: float = 0.012
    sliver_max_ratio: float = 0.3
    # region of interest in the robot base frame (used when the camera extrinsic is known)
    roi_min_base: tuple[float, float] = (0.18, -0.65)
    roi_max_base: tuple[float, float] = (1.0, 0.65)
    max_points_per_mark: int = 3000
    merge_gap_m: float = 0.008         # regions closer than this on the table are one object
    # stacking: a flat support (plate) at least stack_support_min_width_m wide whose top lies below
    # stack_support_max_m, showing stack_beyond_m beyond the footprint of what stands on it over at least
    # stack_min_beyond_fraction of its low points, level to within stack_level_m
    stack_support_max_m: float = 0.035
    stack_support_min_width_m: float = 0.07
    stack_beyond_m: float = 0.015
    stack_min_beyond_fraction: float = 0.25
    stack_level_m: float = 0.008
    seed: int = 0


def _plane_basis(normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    helper = np.array([1.0, 0.0, 0.0]) if abs(normal[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = np.cross(normal, helper)
    e1 /= np.linalg.norm(e1)
    return e1, np.cross(normal, e1)


def _percentile(values: np.ndarray, q: float) -> float:
    """np.percentile(values, q) (linear interpolation) by partial sort: the same number, less work."""
    n = len(values)
    pos = q / 100.0 * (n - 1)
    lo = int(np.floor(pos))
    hi = min(lo + 1, n - 1)
    part = np.partition(values, (lo, hi))
    return float(part[lo] + (pos - lo) * (part[hi] - part[lo]))


@dataclass(frozen=True)
class _PlaneFrame:
    """In-plane axes and the camera's sideways direction on the plane, once per frame."""

    e1: np.ndarray
    e2: np.ndarray
    side: np.ndarray

    @classmethod
    def of(cls, plane: SupportPlane) -> _PlaneFrame:
        e1, e2 = _plane_basis(plane.normal)
        view = np.array([0.0, 0.0, 1.0]) - plane.normal * plane.normal[2]
        side = np.cross(plane.normal, view / max(np.linalg.norm(view), 1e-9))
        return cls(e1, e2, side)


@dataclass(frozen=True)
class _Extent:
    """A region's 3-D centre and radius, and its on-plane centre and radius, for cheap pair tests."""

    centre: np.ndarray
    radius: float
    centre_xy: np.ndarray
    radius_xy: float

    @classmethod
    def of(cls, xy: np.ndarray, _heights: np.ndarray, pts: np.ndarray) -> _Extent:
        c, cxy = pts.mean(axis=0), xy.mean(axis=0)
        return cls(c, float(np.max(np.linalg.norm(pts - c, axis=1))), cxy,
                   float(np.max(np.linalg.norm(xy - cxy, axis=1))))


def _rect_rms(points: np.ndarray, footprint: np.ndarray) -> float:
    """RMS distance of points to the nearest side of the footprint's minimum-area rectangle."""
    box = cv2.boxPoints(cv2.minAreaRect(footprint.astype(np.float32)))
    d = np.full(len(points), np.inf)
    for a, b in zip(box, np.roll(box, -1, axis=0), strict=True):
        ab = b - a
        t = np.clip(((points - a) @ ab) / max(float(ab @ ab), 1e-12), 0.0, 1.0)
        d = np.minimum(d, np.linalg.norm(points - (a + t[:, None] * ab), axis=1))
    return float(np.sqrt(np.mean(d ** 2)))


# relative slack on a wall arc's fitted radius when testing whether another part lies inside its circle
ARC_RADIUS_SLACK = 0.15


def _fit_circle(xy: np.ndarray, min_radius: float = 0.02) -> tuple[np.ndarray, float, float] | None:
    """Least-squares circle (centre, radius, rms residual) through footprint points of a round
    object's outline; None when the points do not lie on a plausible circle."""
    if len(xy) < 10:
        return None
    A = np.column_stack([2 * xy, np.ones(len(xy))])
    b = (xy ** 2).sum(axis=1)
    sol, *_ = np.linalg.lstsq(A, b, rcond=None)
    centre = sol[:2]
    radius = float(np.sqrt(max(sol[2] + centre @ centre, 0.0)))
    rms = float(np.sqrt(np.mean((np.linalg.norm(xy - centre, axis=1) - radius) ** 2)))
    if not (min_radius <= radius <= 0.15) or rms > 0.006:
        return None
    return centre, radius, rms


class GeometricProposer:
    """The default MarkProposer: geometry only, deterministic for a given frame."""

    def __init__(self, config: ProposerConfig | None = None) -> None:
        self.config = config or ProposerConfig()

    # -- support plane ----------------------------------------------------------------------
    def fit_plane(self, frame: RGBDFrame) -> SupportPlane:
        cfg = self.config
        pts, valid = depth_image_to_points(frame.depth_mm, frame.intrinsics, stride=cfg.plane_stride)
        p = pts[valid].astype(np.float64)
        if len(p) < 100:
            raise FrameError(f"proposals: only {len(p)} valid depth points; no support plane can be fitted "
                             "(is the depth stream empty or misaligned?)")
        rng = np.random.default_rng(cfg.seed)
        sample = p if len(p) <= cfg.plane_samples else p[rng.choice(len(p), cfg.plane_samples, replace=False)]
        idx = rng.integers(0, len(sample), size=(cfg.plane_iterations, 3))
        a, b, c = sample[idx[:, 0]], sample[idx[:, 1]], sample[idx[:, 2]]
        normals = np.cross(b - a, c - a)
        norms = np.linalg.norm(normals, axis=1)
        ok = norms > 1e-9
        normals[ok] /= norms[ok, None]
        offsets = -np.einsum("ij,ij->i", normals, a)
        dist = np.abs(sample @ normals.T + offsets)  # (N, iterations)
        counts = np.where(ok, (dist < cfg.plane_threshold_m).sum(axis=0), -1)
        best = int(np.argmax(counts))
        n, d = normals[best], offsets[best]
        inliers = p[np.abs(p @ n + d) < cfg.plane_threshold_m]
        if len(inliers) < cfg.plane_min_inlier_fraction * len(p):
            raise FrameError(f"proposals: no dominant support plane ({len(inliers)}/{len(p)} inliers)")
        centre = inliers.mean(axis=0)
        dev = inliers - centre
        _, evecs = np.linalg.eigh(dev.T @ dev)  # least-squares normal: the scatter's smallest axis
        n = evecs[:, 0]
        d = -float(n @ centre)
        if d < 0:  # orient the normal toward the camera (camera origin above the table)
            n, d = -n, -d
        inl = np.abs(p @ n + d) < cfg.plane_threshold_m
        return SupportPlane(n, d, float(inl.mean()))

    # -- regions ----------------------------------------------------------------------------
    def height_map(self, frame: RGBDFrame, plane: SupportPlane) -> np.ndarray:
        """Height above the plane for every pixel (NaN where no depth), separably computed."""
        k = frame.intrinsics
        n = plane.normal.astype(np.float32)
        a = n[0] * (np.arange(k.width, dtype=np.float32) - np.float32(k.cx)) / np.float32(k.fx)
        b = n[1] * (np.arange(k.height, dtype=np.float32) - np.float32(k.cy)) / np.float32(k.fy) + n[2]
        z = frame.depth_mm.astype(np.float32) * np.float32(1e-3)
        h = z * (a[None, :] + b[:, None]) + np.float32(plane.offset)
        h[frame.depth_mm == 0] = np.nan
        return h

    def segment(self, frame: RGBDFrame, heights: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
        cfg = self.config
        with np.errstate(invalid="ignore"):
            above = (heights > cfg.min_height_m) & (heights < cfg.max_height_m)
        # a depth step between neighbours separates regions (one object in front of another)
        d = frame.depth_mm.astype(np.int16 if int(frame.depth_mm.max()) < 32768 else np.int32)
        jump = np.zeros_like(above)
        dx = np.abs(np.diff(d, axis=1)) > cfg.edge_jump_mm
        dy = np.abs(np.diff(d, axis=0)) > cfg.edge_jump_mm
        jump[:, 1:] |= dx
        jump[:, :-1] |= dx
        jump[1:, :] |= dy
        jump[:-1, :] |= dy
        mask = (above & ~jump).astype(np.uint8)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        count, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_32S, cv2.CCL_SPAGHETTI)
        return count, labels, stats

    # -- description ------------------------------------------------------------------------
    def _part(self, frame: RGBDFrame, plane: SupportPlane, axes: _PlaneFrame, heights: np.ndarray,
              region: np.ndarray, box: tuple[int, int, int, int]) -> _Part:
        """A region's pixels and up to max_points_per_mark of its points, on the plane and above it."""
        x0, y0, x1, y1 = box
        vv, uu = np.nonzero(region[y0:y1, x0:x1])
        vv, uu = vv + y0, uu + x0
        if len(uu) > self.config.max_points_per_mark:
            sel = np.linspace(0, len(uu) - 1, self.config.max_points_per_mark).astype(int)
            su, sv = uu[sel], vv[sel]
        else:
            su, sv = uu, vv
        z = frame.depth_mm[sv, su].astype(np.float64) * 1e-3
        pts = deproject(su, sv, z, frame.intrinsics)
        h = heights[sv, su].astype(np.float64)
        on_plane = pts - np.outer(h, plane.normal)
        xy = np.stack([on_plane @ axes.e1, on_plane @ axes.e2], axis=1).astype(np.float32)
        return _Part(region, box, uu, vv, pts, h, xy)

    def _describe(self, frame: RGBDFrame, plane: SupportPlane, axes: _PlaneFrame, part: _Part,
                  base_from_camera: np.ndarray | None) -> Mark | None:
        """A part as a mark; its height is measured from what it stands on (the table or a support)."""
        cfg = self.config
        region, uu, vv, pts, xy = part.region, part.uu, part.vv, part.pts, part.xy
        x0, y0, x1, y1 = part.box
        crop = region[y0:y1, x0:x1]
        h = part.h - part.base_h if part.base_h else part.h
        height = _percentile(h, 98)
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(xy)
        long_side, short_side = max(rw, rh), min(rw, rh)
        if long_side > cfg.max_footprint_m or long_side < 0.01:
            return None
        centre_plane = axes.e1 * cx + axes.e2 * cy - plane.offset * plane.normal
        centroid_cam = centre_plane + plane.normal * (part.base_h + height / 2)
        if base_from_camera is not None:
            c_base = transform_points(base_from_camera, centroid_cam)
            lo, hi = cfg.roi_min_base, cfg.roi_max_base
            if not (lo[0] <= c_base[0] <= hi[0] and lo[1] <= c_base[1] <= hi[1]):
                return None
        # top face: points near the top; its fill of the min-area rectangle tells round from square
        top = h >= height - 0.008
        top_xy = xy[top]
        fill = 0.0
        if len(top_xy) >= 6:
            hull = cv2.convexHull(top_xy)
            (_, _), (tw, tl), _ = cv2.minAreaRect(top_xy)
            fill = float(cv2.contourArea(hull) / max(tw * tl, 1e-9))
        shape = self._shape(h, xy, pts @ axes.side, (cx, cy), long_side, short_side, height, fill)
        region_mask = region
        eroded = cv2.erode(crop.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        crop_rgb = frame.color_rgb[y0:y1, x0:x1]
        colour_px = crop_rgb[eroded] if np.count_nonzero(eroded) >= 20 else crop_rgb[crop]
        depths = frame.depth_mm[vv, uu].astype(np.float64)
        cu, cv_ = float(uu.mean()), float(vv.mean())
        win = frame.depth_mm[max(0, int(cv_) - 2): int(cv_) + 3, max(0, int(cu) - 2): int(cu) + 3]
        win_mask = region_mask[max(0, int(cv_) - 2): int(cv_) + 3, max(0, int(cu) - 2): int(cu) + 3]
        centre_vals = win[(win > 0) & win_mask]
        centre_mm = float(np.median(centre_vals)) if centre_vals.size else float(np.median(depths))
        stats = DepthStats(centre_mm, float(depths.mean()), float(depths.max()), float(depths.min()), 1.0)
        mark = Mark(id=0, mask=region_mask, box_xyxy=(int(x0), int(y0), int(x1), int(y1)), centroid_px=(cu, cv_),
                    centroid_cam=centroid_cam, footprint_m=(float(long_side), float(short_side)), height_m=height,
                    color_name=name_color(colour_px), depth=stats, shape=shape, yaw_cam_rad=math.radians(angle),
                    points_cam=pts, base_height_m=part.base_h)
        if base_from_camera is not None:
            mark.centroid_base = transform_points(base_from_camera, centroid_cam)
            top_cam = centre_plane + plane.normal * (part.base_h + height)
            mark.top_center_base = transform_points(base_from_camera, top_cam)
        return mark

    @staticmethod
    def _shape(h: np.ndarray, xy: np.ndarray, across: np.ndarray | None, centre: tuple[float, float], long_side: float,
               short_side: float, height: float, fill: float) -> str:
        """Shape from geometry: plate (flat, wide), bowl (floor below the rim), sphere (narrower near
        the table than at mid-height), box (square top face), else cylinder."""
        if height < 0.03 and long_side > 0.07:
            return "plate"
        if long_side > 0.1 and height < 0.09 and long_side <= 1.25 * short_side:
            # a bowl shows its floor: points near the middle sit well below the rim
            r = np.linalg.norm(xy - np.asarray(centre, np.float32), axis=1)
            inner = h[r < 0.45 * long_side / 2]
            if inner.size >= 10 and float(np.median(inner)) < 0.5 * height:
                return "bowl"
        if fill >= 0.93:
            return "box"
        if 0.7 <= height / max(long_side, 1e-6) <= 1.4:
            # a sphere curves away under its equator: little surface is seen near the table, where
            # cylinders and boxes show their walls (the ratios: SPHERE_MAX_LOW_TO_MID above)
            low = np.count_nonzero(h < 0.25 * height)
            mid = np.count_nonzero((h > 0.4 * height) & (h < 0.6 * height))
            limit = ROUND_TOP_SPHERE_MAX_LOW_TO_MID if fill < ROUND_TOP_MAX_FILL else SPHERE_MAX_LOW_TO_MID
            if mid >= 10 and low < limit * mid:
                return "sphere"
        # a cylinder's visible side projects onto an arc of its circle, a box's onto straight faces
        side = xy[h < 0.8 * height]
        circle = _fit_circle(side, SHAPE_MIN_CIRCLE_RADIUS_M) if len(side) >= 20 else None
        if circle is not None and 0.6 <= circle[1] / max(long_side / 2, 1e-6) <= 1.4 and circle[2] < 0.002 \
                and circle[2] < CYLINDER_MAX_CIRCLE_TO_RECT * _rect_rms(side, xy):
            return "cylinder"
        return "box" if fill >= 0.7 else "cylinder"

    def _merge_groups(self, frame: RGBDFrame, plane: SupportPlane, labels: np.ndarray, stats: np.ndarray,
                      count: int, base_from_camera: np.ndarray | None) -> list[list[int]]:
        """Regions of one object split by a depth step (a bowl's rim and floor) belong together;
        separate objects stand apart. Regions outside the region of interest are dropped first."""
        cfg = self.config
        e1, e2 = _plane_basis(plane.normal)
        k = frame.intrinsics
        parts: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for i in range(1, count):
            x, y, w, h, area = stats[i]
            if area < cfg.min_area_px:
                continue
            vv, uu = np.nonzero(labels[y:y + h, x:x + w] == i)
            step = max(1, len(uu) // 80)
            uu, vv = uu[::step] + x, vv[::step] + y
            pts = deproject(uu, vv, frame.depth_mm[vv, uu].astype(np.float64) * 1e-3, k)
            hgt = pts @ plane.normal + plane.offset
            on = pts - np.outer(hgt, plane.normal)
            if base_from_camera is not None:
                c_base = transform_points(base_from_camera, on.mean(axis=0))
                lo, hi = cfg.roi_min_base, cfg.roi_max_base
                if not (lo[0] <= c_base[0] <= hi[0] and lo[1] <= c_base[1] <= hi[1]):
                    continue
            parts[i] = (np.stack([on @ e1, on @ e2], axis=1), hgt, pts)
        keep = list(parts)
        parent = {i: i for i in keep}

        def root(i: int) -> int:
            while parent[i] != i:
                i = parent[i]
            return i

        circles = {i: _fit_circle(parts[i][0]) for i in keep}
        extents = {i: _Extent.of(*parts[i]) for i in keep}
        for a_i, a in enumerate(keep):
            for b in keep[a_i + 1:]:
                if self._same_object(parts[a], parts[b], circles[a], circles[b], extents[a], extents[b]):
                    parent[root(b)] = root(a)
        groups: dict[int, list[int]] = {}
        for i in keep:
            groups.setdefault(root(i), []).append(i)
        return list(groups.values())

    def _same_object(self, a: tuple[np.ndarray, np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray, np.ndarray],
                     circ_a: tuple[np.ndarray, float, float] | None,
                     circ_b: tuple[np.ndarray, float, float] | None, ext_a: _Extent, ext_b: _Extent) -> bool:
        gap = self.config.merge_gap_m
        pa, pb = a[2], b[2]
        if np.linalg.norm(ext_a.centre - ext_b.centre) <= ext_a.radius + ext_b.radius + gap:
            if np.min(np.linalg.norm(pa[:, None, :] - pb[None, :, :], axis=2)) < gap:
                return True  # touching in 3-D: one surface cut by a depth step
        # a round object split by its own rim (bowl), or by something in front of it into arcs of its wall: one
        # part lies inside the other's circle, below its top. A wall arc's circle reads up to ~10 % small (the
        # visible wall, not the rim's outer edge: dev10), hence the relative slack; a neighbour 1.5 cm away
        # still lies outside it
        for (f_in, h_in, ext_in), (circ, h_out) in (((b[0], b[1], ext_b), (circ_a, a[1])),
                                                   ((a[0], a[1], ext_a), (circ_b, b[1]))):
            if circ is None:
                continue
            centre, radius, _ = circ
            reach = radius * (1.0 + ARC_RADIUS_SLACK) + gap
            # no point of the inner part can be inside the circle: skip the per-point test
            if np.linalg.norm(ext_in.centre_xy - centre) > reach + ext_in.radius_xy:
                continue
            inside = np.linalg.norm(f_in - centre, axis=1) <= reach
            if np.mean(inside) > 0.8 and np.percentile(h_in, 95) <= np.max(h_out) + gap:
                return True
        return False

    # -- stacking ---------------------------------------------------------------------------
    def _support_top(self, part: _Part) -> float | None:
        """The top height of a part that can carry another object (low, wide, level), else None."""
        cfg = self.config
        if len(part.h) < 20 or _percentile(part.h, 98) > cfg.stack_support_max_m:
            return None
        if max(cv2.minAreaRect(part.xy)[1]) < cfg.stack_support_min_width_m:
            return None
        return _percentile(part.h, 90)

    def _unstack(self, frame: RGBDFrame, plane: SupportPlane, axes: _PlaneFrame, heights: np.ndarray,
                 part: _Part) -> list[_Part]:
        """A region that is a flat support with objects standing on it (a cup on a plate: one surface,
        so one region) becomes the support and each object on it. The support shows as a level layer
        reaching well beyond the footprint of what rises above it; a bowl's floor lies inside its rim,
        and a lone object's lowest wall inside its own footprint, so neither splits."""
        cfg = self.config
        h, xy = part.h, part.xy
        if len(h) < 60 or _percentile(h, 98) <= cfg.stack_support_max_m:
            return [part]
        low = h < cfg.stack_support_max_m
        n_low = int(np.count_nonzero(low))
        if n_low < 40 or len(h) - n_low < 20:
            return [part]
        beyond = _rect_distance(xy[low], cv2.minAreaRect(xy[~low])) > cfg.stack_beyond_m
        if np.count_nonzero(beyond) < max(40, cfg.stack_min_beyond_fraction * n_low):
            return [part]
        layer = h[low][beyond]
        if _percentile(layer, 90) - _percentile(layer, 10) > cfg.stack_level_m:
            return [part]
        top = _percentile(layer, 90)
        x0, y0, x1, y1 = part.box
        crop = part.region[y0:y1, x0:x1]
        with np.errstate(invalid="ignore"):
            upper = crop & (heights[y0:y1, x0:x1] > top + cfg.min_height_m)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(upper.astype(np.uint8), connectivity=8)
        objects = [i for i in range(1, count) if stats[i][4] >= cfg.min_area_px]
        if not objects:
            return [part]
        on_it = np.isin(labels, objects)
        below = np.zeros_like(part.region)
        below[y0:y1, x0:x1] = crop & ~on_it
        support = self._part(frame, plane, axes, heights, below, part.box)
        if self._support_top(support) is None:
            return [part]
        footprint = cv2.minAreaRect(support.xy)
        split = [support]
        for i in objects:
            x, y, w, hh, _ = stats[i]
            region = np.zeros_like(part.region)
            region[y0 + y:y0 + y + hh, x0 + x:x0 + x + w] = labels[y:y + hh, x:x + w] == i
            piece = self._part(frame, plane, axes, heights, region, (x0 + x, y0 + y, x0 + x + w, y0 + y + hh))
            if _rect_distance(piece.xy.mean(axis=0, keepdims=True), footprint)[0] > 0.0:
                return [part]  # something beside the support, touching it: not a stack
            piece.base_h, piece.support = top, support
            split.append(piece)
        return split

    def _rest_on_supports(self, parts: list[_Part]) -> None:
        """A part of its own that does not reach down to the table and stands within a support's
        footprint stands on that support (the depth step at a plate's far edge can cut them apart)."""
        cfg = self.config
        supports = [(p, top, cv2.minAreaRect(p.xy)) for p in parts if (top := self._support_top(p)) is not None]
        if not supports:
            return
        for part in parts:
            if part.support is not None or any(part is s for s, _, _ in supports) or len(part.h) < 20:
                continue
            bottom = _percentile(part.h, 2)
            centre = part.xy.mean(axis=0, keepdims=True)
            for support, top, footprint in supports:
                if bottom >= top - cfg.stack_level_m and _rect_distance(centre, footprint)[0] < 0.0:
                    part.base_h, part.support = top, support
                    break

    # -- entry point ------------------------------------------------------------------------
    def propose(self, frame: RGBDFrame, base_from_camera: np.ndarray | None = None) -> Proposals:
        t0 = time.perf_counter()
        plane = self.fit_plane(frame)
        t1 = time.perf_counter()
        heights = self.height_map(frame, plane)
        count, labels, stats = self.segment(frame, heights)
        t2 = time.perf_counter()
        axes = _PlaneFrame.of(plane)
        parts: list[_Part] = []
        for group in self._merge_groups(frame, plane, labels, stats, count, base_from_camera):
            x0 = min(stats[i][0] for i in group)
            y0 = min(stats[i][1] for i in group)
            x1 = max(stats[i][0] + stats[i][2] for i in group)
            y1 = max(stats[i][1] + stats[i][3] for i in group)
            crop = labels[y0:y1, x0:x1]  # compare inside the box only: full-frame masks cost ms
            region = np.zeros(labels.shape, dtype=bool)
            region[y0:y1, x0:x1] = np.isin(crop, group) if len(group) > 1 else crop == group[0]
            parts += self._unstack(frame, plane, axes, heights, self._part(frame, plane, axes, heights, region,
                                                                           (x0, y0, x1, y1)))
        self._rest_on_supports(parts)
        marks: list[Mark] = []
        mark_of: dict[int, Mark] = {}
        unmeasured: list[Unmeasured] = []
        for part in parts:
            mark = self._describe(frame, plane, axes, part, base_from_camera)
            if mark is not None and self._sliver(mark):
                unmeasured.append(Unmeasured(mark.color_name, mark.area_px, mark.box_xyxy,
                                             "only a sliver of it shows, the rest is hidden behind other objects"))
            elif mark is not None:
                marks.append(mark)
                mark_of[id(part)] = mark
            elif (hidden := self._unmeasured(frame, part)) is not None:
                unmeasured.append(hidden)
        marks.sort(key=lambda m: (round(m.centroid_px[0]), m.centroid_px[1]))
        for n, m in enumerate(marks, start=1):
            m.id = n
            m.label = f"{m.color_name} {m.shape}"
        for part in parts:
            if part.support is not None and id(part) in mark_of and id(part.support) in mark_of:
                mark_of[id(part)].resting_on = mark_of[id(part.support)].id
        t3 = time.perf_counter()
        return Proposals(marks, plane, {"plane_ms": (t1 - t0) * 1e3, "segment_ms": (t2 - t1) * 1e3,
                                        "describe_ms": (t3 - t2) * 1e3}, unmeasured)

    def _sliver(self, mark: Mark) -> bool:
        long_side, short_side = mark.footprint_m
        return short_side < self.config.sliver_max_width_m and short_side < self.config.sliver_max_ratio * long_side

    def _unmeasured(self, frame: RGBDFrame, part: _Part) -> Unmeasured | None:
        """A part too wide to be an object that still shows painted pixels: an object merged with it."""
        if len(part.xy) < 3 or max(cv2.minAreaRect(part.xy)[1]) <= self.config.max_footprint_m:
            return None
        x0, y0, x1, y1 = part.box
        px = frame.color_rgb[y0:y1, x0:x1][part.region[y0:y1, x0:x1]]
        evidence = paint_evidence(px)
        box = (int(x0), int(y0), int(x1), int(y1))
        if int(evidence["hue"].sum()) >= self.config.unmeasured_min_px:
            painted = px[evidence["hue"]]
            return Unmeasured(name_color(painted), len(painted), box)
        for name in ("white", "black"):   # a white or black object against the grey arm
            if (n := int(evidence[name].sum())) >= self.config.unmeasured_min_px:
                return Unmeasured(name, n, box)
        return None
