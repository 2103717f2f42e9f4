"""Top-down grasps from an object's points, and the poses around a pick and a place.

TCP convention: z is the approach direction (down for top-down), y the finger closing direction,
x = y cross z. A top-down TCP with yaw psi has x = (cos psi, sin psi, 0), y = (sin psi, -cos psi, 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from spatialbot_ros.core.errors import GraspError, ObjectTooWideError
from spatialbot_ros.core.marks import Mark
from spatialbot_ros.core.object_kinds import ROUND_SHAPES
from spatialbot_ros.core.transforms import make_pose, transform_points


@dataclass(frozen=True)
class GraspConfig:
    max_opening_m: float = 0.085       # Robotiq 2F-85 stroke
    width_margin_m: float = 0.008      # free space needed beside the object when open
    grasp_depth_m: float = 0.035       # how far below the top the fingertips' centre goes
    min_tcp_height_m: float = 0.027    # fingertip pads must clear the table
    approach_height_m: float = 0.12
    lift_height_m: float = 0.15
    place_clearance_m: float = 0.006
    bowl_floor_m: float = 0.012        # where a bowl's floor holds an object put into it (above the table)
    retreat_height_m: float = 0.12
    top_band_m: float = 0.012          # points this close to the top form the top face
    round_ratio: float = 1.3           # principal extents closer than this: round footprint
    preferred_yaw_rad: float = 0.0
    min_points: int = 20
    # the open fingers' pads (Robotiq 2F-85: 22 mm wide, 10 mm thick, 44 mm long) must clear neighbouring
    # objects by this much on the way down; other yaws are tried when the preferred one does not
    pad_half_width_m: float = 0.011
    pad_thickness_m: float = 0.010
    pad_length_m: float = 0.044
    finger_clearance_m: float = 0.004
    yaw_candidates: int = 12


@dataclass(frozen=True)
class GraspPlan:
    grasp_pose: np.ndarray
    pregrasp_pose: np.ndarray
    lift_pose: np.ndarray
    width_m: float
    yaw_rad: float
    center_base: np.ndarray
    object_top_z: float
    object_height_m: float


@dataclass(frozen=True)
class PlacePlan:
    preplace_pose: np.ndarray
    place_pose: np.ndarray
    retreat_pose: np.ndarray


def top_down_rotation(yaw: float) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, s, 0.0], [s, -c, 0.0], [0.0, 0.0, -1.0]])


def _wrap_half_pi(yaw: float) -> float:
    """Parallel jaws are symmetric: yaw and yaw + pi are the same grasp; keep it in (-pi/2, pi/2]."""
    y = (yaw + math.pi / 2) % math.pi - math.pi / 2
    return math.pi / 2 if math.isclose(y, -math.pi / 2) else y


def raised(pose: np.ndarray, dz: float) -> np.ndarray:
    out = pose.copy()
    out[2, 3] += dz
    return out


def top_face(points: np.ndarray, top_z: float, band_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The top face's xy points (all points when the band holds fewer than 5), their mean, and their
    principal axes as eigh columns (minor first, major last): what a top-down grasp lines up with."""
    top = points[points[:, 2] >= top_z - band_m][:, :2]
    if len(top) < 5:
        top = points[:, :2]
    centre = top.mean(axis=0)
    cov = np.cov((top - centre).T) if len(top) > 2 else np.eye(2)
    _, evecs = np.linalg.eigh(cov)
    return top, centre, evecs


def grasp_height(top_z: float, table_z: float, config: GraspConfig) -> float:
    """Where a top-down grasp puts the pads' centre: grasp_depth below the top (at most half the object's
    height), never below the pads' clearance over what the object stands on."""
    return max(table_z + config.min_tcp_height_m, top_z - min(config.grasp_depth_m, 0.5 * (top_z - table_z)))


def finger_clearance(centre_xy: np.ndarray, yaw: float, grasp_z: float, obstacles_base: np.ndarray,
                     config: GraspConfig) -> float:
    """Smallest distance (m) from the fully open fingers' pads, at a top-down grasp of this yaw whose pads'
    centre is at grasp_z, to obstacle points that reach above the pads' lower edge; inf with none."""
    pts = np.asarray(obstacles_base, dtype=float).reshape(-1, 3)
    pts = pts[pts[:, 2] > grasp_z - config.pad_length_m / 2]
    if len(pts) == 0:
        return math.inf
    along = np.array([math.cos(yaw), math.sin(yaw)])          # TCP x: across the pad's width
    close = np.array([math.sin(yaw), -math.cos(yaw)])          # TCP y: the closing direction
    rel = pts[:, :2] - np.asarray(centre_xy, dtype=float)[:2]
    u, v = np.abs(rel @ along), np.abs(rel @ close)
    inner = config.max_opening_m / 2
    du = np.maximum(u - config.pad_half_width_m, 0.0)
    dv = np.maximum(np.maximum(inner - v, v - (inner + config.pad_thickness_m)), 0.0)
    return float(np.min(np.hypot(du, dv)))


def fingers_hit(centre_xy: np.ndarray, yaw: float, grasp_z: float, neighbours: list[tuple[str, np.ndarray]],
                config: GraspConfig) -> str | None:
    """The first of (name, points) neighbours the open pads would come down on at this yaw, else None."""
    for name, pts in neighbours:
        if finger_clearance(centre_xy, yaw, grasp_z, pts, config) <= 0.0:
            return name
    return None


def _clear_yaw(centre_xy: np.ndarray, yaws: list[float], grasp_z: float, obstacles_base: np.ndarray | None,
               config: GraspConfig) -> float:
    """The first yaw (in order of preference) whose open fingers clear the neighbours, else the clearest;
    GraspError when every yaw would put a finger into a neighbour."""
    if obstacles_base is None or len(obstacles_base) == 0:
        return yaws[0]
    pts = np.asarray(obstacles_base, dtype=float).reshape(-1, 3)
    # only points the open pads could come near, at any yaw
    reach = math.hypot(config.max_opening_m / 2 + config.pad_thickness_m, config.pad_half_width_m) + \
        config.finger_clearance_m + 0.01
    pts = pts[np.hypot(pts[:, 0] - centre_xy[0], pts[:, 1] - centre_xy[1]) < reach]   # heights: finger_clearance
    if len(pts) == 0:
        return yaws[0]
    clearance = [finger_clearance(centre_xy, y, grasp_z, pts, config) for y in yaws]
    for y, c in zip(yaws, clearance, strict=True):
        if c >= config.finger_clearance_m:
            return y
    best = int(np.argmax(clearance))
    if clearance[best] <= 0.0:
        raise GraspError("grasp: neighbouring objects leave no room for the open fingers at any yaw "
                         f"(best gap {clearance[best] * 1000:.0f} mm)")
    return yaws[best]


def plan_top_down_grasp(points_base: np.ndarray, config: GraspConfig | None = None, table_z: float = 0.0,
                        round_object: bool | None = None, min_width_m: float = 0.0,
                        obstacles_base: np.ndarray | None = None) -> GraspPlan:
    """Grasp across the short side of the top face, at grasp_depth below the top.

    round_object: the perception's shape call (cylinder, sphere) when known; a partly visible top
    face can look elongated, so the caller's knowledge wins over the footprint ratio.
    min_width_m: what the shape says the object is at least as wide as, where its top face shows less
    (a ball's top band is a small cap, yet the ball is as wide as it is tall, and a ball wider than the
    opening wedges between the fingers and is carried off on release).
    obstacles_base: points of the other objects (base frame). The open fingers descend beside the object;
    in a row of cups 2 cm apart the preferred yaw puts them into the neighbours, so a round object turns
    the grasp to a yaw that clears them, and a box grasps across its long side when that fits and the
    short-side grasp does not clear.
    """
    cfg = config or GraspConfig()
    pts = np.asarray(points_base, dtype=float).reshape(-1, 3)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    if len(pts) < cfg.min_points:
        raise GraspError(f"grasp: only {len(pts)} object points (need {cfg.min_points})")
    top_z = float(np.percentile(pts[:, 2], 98))
    height = top_z - table_z
    if height <= 0.005:
        raise GraspError(f"grasp: object is {height * 1000:.0f} mm tall; nothing to grasp")
    top, centre_guess, evecs = top_face(pts, top_z, cfg.top_band_m)
    major = evecs[:, 1]
    extents = []
    for axis in (evecs[:, 1], evecs[:, 0]):
        proj = (top - centre_guess) @ axis
        extents.append((float(proj.min()), float(proj.max())))
    (a0, a1), (b0, b1) = extents
    centre_xy = centre_guess + evecs[:, 1] * (a0 + a1) / 2 + evecs[:, 0] * (b0 + b1) / 2
    long_side, short_side = a1 - a0, b1 - b0
    is_round = long_side <= cfg.round_ratio * short_side if round_object is None else round_object
    grasp_z = grasp_height(top_z, table_z, cfg)
    if is_round:
        preferred = _wrap_half_pi(cfg.preferred_yaw_rad)
        yaws = [_wrap_half_pi(preferred + k * math.pi / cfg.yaw_candidates) for k in range(cfg.yaw_candidates)]
        yaws.sort(key=lambda y: abs(_wrap_half_pi(y - preferred)))
        yaw = _clear_yaw(centre_xy, yaws, grasp_z, obstacles_base, cfg)
        close_dir = np.array([math.sin(yaw), -math.cos(yaw)])
        proj = (top - centre_xy) @ close_dir
        width = float(max(long_side, proj.max() - proj.min()))
    else:
        across_short = _wrap_half_pi(math.atan2(major[1], major[0]))
        yaws = [across_short]
        if long_side + cfg.width_margin_m <= cfg.max_opening_m:
            yaws.append(_wrap_half_pi(across_short + math.pi / 2))
        yaw = _clear_yaw(centre_xy, yaws, grasp_z, obstacles_base, cfg)
        width = short_side if yaw == across_short else long_side
    width = max(width, float(min_width_m))
    if width + cfg.width_margin_m > cfg.max_opening_m:
        raise ObjectTooWideError(f"grasp: object is {width * 1000:.0f} mm wide across the grasp; the gripper opens "
                         f"{cfg.max_opening_m * 1000:.0f} mm (margin {cfg.width_margin_m * 1000:.0f} mm)")
    grasp = make_pose([centre_xy[0], centre_xy[1], grasp_z], top_down_rotation(yaw))
    return GraspPlan(grasp_pose=grasp, pregrasp_pose=raised(grasp, cfg.approach_height_m),
                     lift_pose=raised(grasp, cfg.lift_height_m), width_m=width, yaw_rad=yaw,
                     center_base=np.array([centre_xy[0], centre_xy[1], table_z + height / 2]),
                     object_top_z=top_z, object_height_m=height)


def plan_mark_grasp(mark: Mark, base_from_camera: np.ndarray, config: GraspConfig,
                    others: list[Mark] | None = None) -> GraspPlan:
    """plan_top_down_grasp for a perceived mark: its points in the base frame, its support's height, its
    shape's call (round or not; a ball at least as wide as it is tall) and, with others, their points as
    obstacles for the open fingers."""
    obstacles = [transform_points(base_from_camera, m.points_cam) for m in others or [] if len(m.points_cam)]
    return plan_top_down_grasp(transform_points(base_from_camera, mark.points_cam), config,
                               table_z=mark.base_height_m,
                               round_object=mark.shape in ROUND_SHAPES if mark.shape != "unknown" else None,
                               min_width_m=mark.height_m if mark.shape == "sphere" else 0.0,
                               obstacles_base=np.concatenate(obstacles) if obstacles else None)


def support_surface_z(place_kind: str, support_height_m: float, config: GraspConfig) -> float:
    """Height above the table of the surface a placed object comes to rest on: a support's top ("on"), a
    bowl's floor ("into"), else the table (a place relative to another object)."""
    if place_kind == "on":
        return float(support_height_m)
    return config.bowl_floor_m if place_kind == "into" else 0.0


def plan_place(place_point_base: np.ndarray, object_height_m: float, held_grasp_offset_z: float,
               config: GraspConfig | None = None, table_z: float = 0.0, support_top_z: float | None = None,
               yaw: float = 0.0) -> PlacePlan:
    """Poses to set the held object down with its bottom just above the support surface.

    held_grasp_offset_z: TCP height above the object's bottom while it is held.
    """
    cfg = config or GraspConfig()
    p = np.asarray(place_point_base, dtype=float)
    if p.shape[0] < 2 or not np.all(np.isfinite(p)):
        raise GraspError(f"place: bad place point {p}")
    support = table_z if support_top_z is None else float(support_top_z)
    z = support + cfg.place_clearance_m + held_grasp_offset_z
    place = make_pose([p[0], p[1], z], top_down_rotation(yaw))
    pre = raised(place, cfg.approach_height_m)
    return PlacePlan(preplace_pose=pre, place_pose=place, retreat_pose=raised(place, cfg.retreat_height_m))
