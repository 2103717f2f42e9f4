"""One zero-shot ManiSkill3 episode: our perception and grounding on the task camera's RGB-D, our
grasp and place geometry, and a closed-loop end-effector-delta executor for the Panda.

Per instruction step: move the arm out of the camera's view, render one frame, propose marks and
ground the instruction (any policy with `ground(frame, instruction, base_from_camera)`, the
built-in geometric one by default), plan a top-down grasp and a place from the marks, then servo the
TCP through pregrasp -> grasp -> close -> lift -> preplace -> place -> release -> retreat with
clipped deltas (core.ee_delta) on `pd_ee_delta_pose`. Success is the env's own info["success"].
"""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from spatialbot_ros.core.ee_delta import StepLimits, clip_delta, compute_ee_delta, pose_error
from spatialbot_ros.core.errors import GraspError, GroundingError, SpatialBotError
from spatialbot_ros.core.geometry import to_base
from spatialbot_ros.core.grasp import GraspConfig, GraspPlan, plan_top_down_grasp, raised, top_down_rotation
from spatialbot_ros.core.grounding import resolve_phrase
from spatialbot_ros.core.marks import Mark, Proposals
from spatialbot_ros.core.task import FailureReason, TaskPhase
from spatialbot_ros.core.transforms import make_pose
from spatialbot_ros.sim.maniskill_env import PANDA_MAX_OPENING_M, ManiSkillEnv, TaskSpec

log = logging.getLogger(__name__)

ROUND_SHAPES = ("sphere", "cylinder")
_UNCLIPPED = StepLimits(10.0, 10.0)
FINGER_THICKNESS_M = 0.012   # a Panda finger pad beside the held object
PLACE_CLEARANCE_M = 0.008    # finger outer face to the nearest neighbour point
GRASP_CLEARANCE_M = 0.008
WRIST_LIMIT_RAD = 2.6         # Panda joint 7 stops at +-2.8973 rad


@dataclass(frozen=True)
class PandaExecutorConfig:
    # TCP out of the task camera's view (ManiSkill world (-0.3, 0, 0.45); the Panda's base is at x -0.615)
    clear_view_base: tuple[float, float, float] = (0.315, 0.0, 0.45)
    travel: StepLimits = field(default_factory=lambda: StepLimits(0.08, 0.1))
    fine: StepLimits = field(default_factory=lambda: StepLimits(0.03, 0.1))
    # the PD arm covers about a third of a commanded delta within one control step (measured): the
    # error is scaled up before clipping so the TCP converges in a few steps
    gain: float = 2.0
    coarse_tol_m: float = 0.012
    fine_tol_m: float = 0.004
    tol_rad: float = 0.05
    phase_max_steps: int = 40
    close_steps: int = 6
    release_steps: int = 4
    settle_max_steps: int = 20
    held_min_opening_m: float = 0.008   # fingers closer than this after closing: nothing between them
    grasp: GraspConfig = field(default_factory=lambda: GraspConfig(
        max_opening_m=PANDA_MAX_OPENING_M, width_margin_m=0.008, grasp_depth_m=0.02, min_tcp_height_m=0.012,
        approach_height_m=0.08, lift_height_m=0.08, place_clearance_m=0.004, retreat_height_m=0.06))


@dataclass
class ManiSkillEpisodeResult:
    task: str
    seed: int
    instruction: str
    success: bool              # info["success"] when the episode ended
    success_once: bool         # info["success"] at any step
    steps: int                 # control steps used
    wall_s: float
    reason: str = FailureReason.NONE.value
    message: str = ""
    groundings: list[str] = field(default_factory=list)
    perceive_ms: list[float] = field(default_factory=list)


class _Failed(Exception):
    def __init__(self, reason: FailureReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def face_yaw(points_base: np.ndarray, top_z: float, band_m: float) -> float:
    """Yaw of a box's top face sides (minimum-area rectangle of its top points): a face-aligned
    grasp, where a square face's principal axes are undefined."""
    top = points_base[points_base[:, 2] >= top_z - band_m][:, :2]
    if len(top) < 5:
        top = points_base[:, :2]
    (_, _), (_, _), angle_deg = cv2.minAreaRect(top.astype(np.float32))
    return math.radians(angle_deg)


def _yaw_of(pose: np.ndarray) -> float:
    return math.atan2(pose[1, 0], pose[0, 0])


def _nearest_yaw(candidate: float, current: float, period: float) -> float:
    """The yaw candidate + k*period closest to the current yaw (a cube's four faces, or the jaws' two)."""
    k = round((current - candidate) / period)
    return candidate + k * period


def finger_clearance_m(centre_xy: np.ndarray, yaw: float, half_opening_m: float, obstacles_xy: np.ndarray) -> float:
    """Distance from the open fingers (either side of centre along the closing axis) to the nearest
    obstacle point on the table; inf with none."""
    if len(obstacles_xy) == 0:
        return math.inf
    close_dir = np.array([math.sin(yaw), -math.cos(yaw)])
    fingers = np.stack([centre_xy + close_dir * half_opening_m, centre_xy - close_dir * half_opening_m])
    return float(np.min(np.linalg.norm(obstacles_xy[None, :, :] - fingers[:, None, :], axis=2)))


def _wrap_pi(angle: float) -> float:
    return (angle + math.pi) % (2 * math.pi) - math.pi


def choose_yaw(centre_xy: np.ndarray, face: float | None, current: float, half_span_m: float,
               obstacles_xy: np.ndarray, min_clearance_m: float, wrist_rad: float | None = None) -> float:
    """The grasp yaw: a face-aligned one for boxes (face given) or any for round objects, turning the
    wrist least among those whose fingers (outer faces half_span_m from the centre) clear the
    neighbours; the best-clearing otherwise. wrist_rad: the Panda's joint 7, which turns opposite to
    the TCP's yaw about the base z: candidates that would drive it past WRIST_LIMIT_RAD are dropped."""
    if face is None:
        candidates = [current + k * math.pi / 4 for k in (0, 1, -1, 2, -2)]
    else:
        base = _nearest_yaw(face, current, math.pi / 2)
        candidates = sorted((base + k * math.pi / 2 for k in (0, 1, -1, 2)), key=lambda y: abs(_wrap_pi(y - current)))
    if wrist_rad is not None:
        within = [y for y in candidates if abs(wrist_rad - _wrap_pi(y - current)) <= WRIST_LIMIT_RAD]
        candidates = within or candidates
    clear = [finger_clearance_m(centre_xy, y, half_span_m, obstacles_xy) for y in candidates]
    for y, c in zip(candidates, clear, strict=True):
        if c >= min_clearance_m:
            return y
    return candidates[int(np.argmax(clear))]


def _points_xy_of(marks: list[Mark], base_from_camera: np.ndarray, exclude: set[int]) -> np.ndarray:
    pts = [to_base(m.points_cam, base_from_camera)[:, :2] for m in marks if m.id not in exclude and len(m.points_cam)]
    return np.concatenate(pts) if pts else np.zeros((0, 2))


def plan_panda_grasp(mark: Mark, marks: list[Mark], base_from_camera: np.ndarray, tcp_now: np.ndarray,
                     config: GraspConfig, wrist_rad: float | None = None,
                     min_clearance_m: float = GRASP_CLEARANCE_M) -> GraspPlan:
    """Top-down grasp of a perceived mark: face-aligned for boxes (a square face's principal axes
    are undefined), at a yaw whose open fingers clear the other marks, turning the wrist least."""
    pts = to_base(mark.points_cam, base_from_camera)
    round_object = mark.shape in ROUND_SHAPES
    top_z = float(np.percentile(pts[:, 2], 98))
    grasp = plan_top_down_grasp(pts, config, round_object=True)
    face = None if round_object else face_yaw(pts, top_z, config.top_band_m)
    yaw = choose_yaw(grasp.grasp_pose[:2, 3], face, _yaw_of(tcp_now), config.max_opening_m / 2 + FINGER_THICKNESS_M,
                     _points_xy_of(marks, base_from_camera, {mark.id}), min_clearance_m, wrist_rad)
    pose = make_pose(grasp.grasp_pose[:3, 3], top_down_rotation(yaw))
    return GraspPlan(pose, raised(pose, config.approach_height_m), raised(pose, config.lift_height_m),
                     grasp.width_m, yaw, grasp.center_base, grasp.object_top_z, grasp.object_height_m)


class PandaExecutor:
    """Closed-loop TCP servoing on a ManiSkillEnv: each step commands the clipped delta from the
    measured TCP pose to the waypoint, until within tolerance."""

    def __init__(self, env: ManiSkillEnv, config: PandaExecutorConfig) -> None:
        self.env = env
        self.cfg = config
        self.success_once = False

    def _step(self, t: np.ndarray, r: np.ndarray, gripper_open: bool) -> None:
        out = self.env.step(t, r, gripper_open)
        self.success_once |= out.success
        if self.env.elapsed_steps >= self.env.spec.max_steps:
            raise _Failed(FailureReason.TIMEOUT, f"step budget of {self.env.spec.max_steps} spent")

    def move_to(self, target: np.ndarray, gripper_open: bool, fine: bool, phase: TaskPhase) -> None:
        limits = self.cfg.fine if fine else self.cfg.travel
        tol = self.cfg.fine_tol_m if fine else self.cfg.coarse_tol_m
        for _ in range(self.cfg.phase_max_steps):
            now = self.env.tcp_pose_base()
            dt, dr = pose_error(now, target)
            if dt <= tol and dr <= self.cfg.tol_rad:
                return
            a = compute_ee_delta(now, target, _UNCLIPPED)
            t, r = clip_delta(a.delta_translation_m * self.cfg.gain, a.delta_rotvec * self.cfg.gain, limits)
            self._step(t, r, gripper_open)
        now = self.env.tcp_pose_base()
        dt, dr = pose_error(now, target)
        raise _Failed(FailureReason.MOTION_FAILED, f"{phase.value}: TCP {dt * 1000:.0f} mm / {math.degrees(dr):.0f} deg "
                      f"from the waypoint after {self.cfg.phase_max_steps} steps")

    def hold(self, steps: int, gripper_open: bool) -> None:
        for _ in range(steps):
            self._step(np.zeros(3), np.zeros(3), gripper_open)


def _rewrite(instruction: str, vocabulary: dict[str, str]) -> str:
    words = instruction.split()
    return " ".join(vocabulary.get(w.lower(), w) for w in words)


def _place_pose(spec: TaskSpec, step_index: int, proposals: Proposals, grounding: Any, grasp: GraspPlan,
                env: ManiSkillEnv, config: GraspConfig, grounder_config: Any,
                base_from_camera: np.ndarray) -> tuple[np.ndarray | None, bool]:
    """(TCP place pose or None, release there?) for this step, from the grounding (or the task's
    stated goal / the midpoint of two named objects where the spec says so)."""
    pick = proposals.by_id(grounding.pick_mark_id)
    wrist_now = env.wrist_rad()
    wrist_after_grasp = wrist_now - _wrap_pi(grasp.yaw_rad - _yaw_of(env.tcp_pose_base()))
    held_offset_z = float(grasp.grasp_pose[2, 3] - (grasp.object_top_z - grasp.object_height_m))
    rot = grasp.grasp_pose[:3, :3]

    def turned(xy: np.ndarray, exclude: set[int]) -> np.ndarray:
        # a held box may be set down a quarter turn round: fingers away from its neighbours there
        if pick.shape in ROUND_SHAPES:
            return rot
        half = grasp.width_m / 2 + FINGER_THICKNESS_M
        yaw = choose_yaw(xy, grasp.yaw_rad, grasp.yaw_rad, half,
                         _points_xy_of(proposals.marks, base_from_camera, exclude | {pick.id}), PLACE_CLEARANCE_M,
                         wrist_after_grasp)
        return top_down_rotation(yaw)
    if spec.goal_from_task:
        goal = env.stated_goal_base()
        if goal is None:
            raise _Failed(FailureReason.BAD_INPUT, f"{spec.env_id} states no goal position")
        centre_to_tcp = grasp.grasp_pose[2, 3] - (grasp.object_top_z - grasp.object_height_m / 2)
        return make_pose([goal[0], goal[1], goal[2] + centre_to_tcp], rot), False
    if spec.place_between is not None and spec.place_between[0] == step_index:
        _, phrase_a, phrase_b = spec.place_between
        a = resolve_phrase(phrase_a, proposals.marks, grounder_config)
        b = resolve_phrase(phrase_b, proposals.marks, grounder_config)
        xy = (np.asarray(a.centroid_base)[:2] + np.asarray(b.centroid_base)[:2]) / 2
        support = max(a.height_m, b.height_m)
        return make_pose([xy[0], xy[1], support + config.place_clearance_m + held_offset_z],
                         turned(xy, {a.id, b.id})), True
    place = grounding.place
    if place is None or place.point_base is None:
        return None, False
    support = 0.0
    if place.kind in ("on", "into") and place.mark_id is not None:
        support = float(proposals.by_id(place.mark_id).height_m)
    xy = np.asarray(place.point_base, float)[:2]
    on = {place.mark_id} if place.kind in ("on", "into") and place.mark_id is not None else set()
    return make_pose([xy[0], xy[1], support + config.place_clearance_m + held_offset_z], turned(xy, on)), True


def _moved(proposals: Proposals, mark: Mark, delta_base: np.ndarray, base_from_camera: np.ndarray) -> Proposals:
    """The proposals with one mark displaced by delta_base (where the executor set it down)."""
    d = np.asarray(delta_base, float).copy()
    d_cam = base_from_camera[:3, :3].T @ d
    marks = []
    for m in proposals.marks:
        if m.id == mark.id:
            m = copy.copy(m)
            m.points_cam = m.points_cam + d_cam
            m.centroid_cam = m.centroid_cam + d_cam
            if m.centroid_base is not None:
                m.centroid_base = np.asarray(m.centroid_base) + np.r_[d[:2], 0.0]
            if m.top_center_base is not None:
                m.top_center_base = np.asarray(m.top_center_base) + np.r_[d[:2], 0.0]
        marks.append(m)
    return Proposals(marks, proposals.plane, proposals.timings_ms)


def run_maniskill_episode(env: ManiSkillEnv, policy: Any, seed: int,
                          config: PandaExecutorConfig | None = None) -> ManiSkillEpisodeResult:
    """Reset the env with `seed` and carry out the task's instruction steps; never raises for a
    failed episode (the reason is in the result)."""
    cfg = config or PandaExecutorConfig()
    spec = env.spec
    t0 = time.perf_counter()
    env.reset(seed)
    ex = PandaExecutor(env, cfg)
    result = ManiSkillEpisodeResult(spec.env_id, int(seed), spec.instruction, False, False, 0, 0.0)
    grounder_config = getattr(getattr(policy, "config", None), "grounding", None)
    memory: tuple[Any, np.ndarray, Proposals] | None = None
    try:
        for i, instruction in enumerate(spec.steps):
            clear = make_pose(cfg.clear_view_base, env.tcp_pose_base()[:3, :3])
            ex.move_to(clear, True, False, TaskPhase.APPROACH)
            tp = time.perf_counter()
            try:
                text = _rewrite(instruction, spec.vocabulary)
                if memory is None or not spec.perceive_once:
                    frame, base_from_camera = env.capture()
                    proposals, grounding = policy.ground(frame, text, base_from_camera)
                else:
                    # later steps ground on the first frame's marks, the moved object where it was set down
                    frame, base_from_camera, proposals = memory
                    grounding = policy.grounder.ground(text, frame, proposals.marks, base_from_camera)
                mark = proposals.by_id(grounding.pick_mark_id)
                grasp = plan_panda_grasp(mark, proposals.marks, base_from_camera, env.tcp_pose_base(), cfg.grasp,
                                         env.wrist_rad())
                place_pose, release = _place_pose(spec, i, proposals, grounding, grasp, env, cfg.grasp,
                                                  grounder_config, base_from_camera)
            except GroundingError as exc:
                raise _Failed(FailureReason.GROUNDING_FAILED, str(exc)) from None
            except GraspError as exc:
                raise _Failed(FailureReason.NO_GRASP, str(exc)) from None
            except SpatialBotError as exc:
                raise _Failed(FailureReason.BAD_INPUT, str(exc)) from None
            result.perceive_ms.append((time.perf_counter() - tp) * 1e3)
            result.groundings.append(grounding.explanation.split("; read:")[0])
            ex.move_to(grasp.pregrasp_pose, True, False, TaskPhase.APPROACH)
            ex.move_to(grasp.grasp_pose, True, True, TaskPhase.DESCEND)
            ex.hold(cfg.close_steps, False)
            if env.gripper_opening_m() < cfg.held_min_opening_m:
                raise _Failed(FailureReason.GRASP_MISSED, f"fingers closed to {env.gripper_opening_m() * 1000:.0f} mm")
            ex.move_to(grasp.lift_pose, False, False, TaskPhase.LIFT)
            if env.gripper_opening_m() < cfg.held_min_opening_m:
                raise _Failed(FailureReason.LIFT_FAILED, "the object slipped out while lifting")
            if place_pose is None:
                continue
            ex.move_to(raised(place_pose, cfg.grasp.approach_height_m), False, False, TaskPhase.CARRY)
            ex.move_to(place_pose, False, True, TaskPhase.PLACE)
            if spec.perceive_once:
                memory = (frame, base_from_camera, _moved(proposals, mark, place_pose[:3, 3] - grasp.grasp_pose[:3, 3],
                                                          base_from_camera))
            if release:
                ex.hold(cfg.release_steps, True)
                ex.move_to(raised(place_pose, cfg.grasp.retreat_height_m), True, False, TaskPhase.RETREAT)
        last_open = bool(spec.steps) and not spec.goal_from_task
        for _ in range(cfg.settle_max_steps):
            if env.success():
                break
            ex.hold(1, last_open)
    except _Failed as exc:
        result.reason, result.message = exc.reason.value, str(exc)
    result.success = env.success()
    result.success_once = ex.success_once or result.success
    if not result.success and result.reason == FailureReason.NONE.value:
        result.reason = FailureReason.PLACE_FAILED.value
        result.message = "all steps carried out; the task's success condition does not hold"
    result.steps = env.elapsed_steps
    result.wall_s = time.perf_counter() - t0
    return result
