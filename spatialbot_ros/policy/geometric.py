"""The built-in policy: no weights. Perception is the geometric Set-of-Mark proposer, the
instruction is resolved by the rule-based spatial reasoner, contact is judged from depth, and the
action is a clipped 6-DoF delta toward the current phase's goal pose."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from spatialbot_ros.core.actions import EEAction, GripperCommand
from spatialbot_ros.core.contact import ContactConfig, judge_contact
from spatialbot_ros.core.ee_delta import StepLimits, compute_ee_delta, converged
from spatialbot_ros.core.errors import GraspError, GroundingError, SpatialBotError
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.geometry import to_base
from spatialbot_ros.core.grasp import (
    GraspConfig,
    GraspPlan,
    PlacePlan,
    plan_mark_grasp,
    plan_place,
    support_surface_z,
)
from spatialbot_ros.core.grounding import (
    Grounding,
    GroundingConfig,
    ground_instruction,
    require_object_phrase,
)
from spatialbot_ros.core.grounding_check import CheckContext, verify_grounding
from spatialbot_ros.core.marks import Mark, MarkProposer, Proposals
from spatialbot_ros.core.som_proposer import GeometricProposer, ProposerConfig
from spatialbot_ros.core.task import FailureReason, TaskPhase
from spatialbot_ros.policy.base import (
    ContactEstimate,
    GroundedTarget,
    Grounder,
    LiftEvidence,
    Observation,
    PlaceGoal,
    PolicyStep,
)
from spatialbot_ros.policy.options import config_from_options

log = logging.getLogger(__name__)


_GRIPPER_BY_PHASE = {
    TaskPhase.APPROACH: GripperCommand.OPEN,
    TaskPhase.DESCEND: GripperCommand.OPEN,
    TaskPhase.CHECK_CONTACT: GripperCommand.OPEN,
    TaskPhase.CLOSE: GripperCommand.CLOSE,
    TaskPhase.LIFT: GripperCommand.CLOSE,
    TaskPhase.VERIFY: GripperCommand.CLOSE,
    TaskPhase.CARRY: GripperCommand.CLOSE,
    TaskPhase.PLACE: GripperCommand.CLOSE,
    TaskPhase.RELEASE: GripperCommand.OPEN,
    TaskPhase.RETREAT: GripperCommand.OPEN,
    TaskPhase.DONE: GripperCommand.HOLD,
}


@dataclass
class GeometricPolicyConfig:
    proposer: ProposerConfig = field(default_factory=ProposerConfig)
    grounding: GroundingConfig = field(default_factory=GroundingConfig)
    grasp: GraspConfig = field(default_factory=GraspConfig)
    contact: ContactConfig = field(default_factory=ContactConfig)
    step_limits: StepLimits = field(default_factory=StepLimits)
    converge_tol_m: float = 0.004
    converge_tol_rad: float = 0.03
    # VERIFY: fraction of the object's original pixels that must now show the table
    lifted_table_fraction: float = 0.5


def geometric_policy_config(options: dict | None = None, model_dir: str = "") -> GeometricPolicyConfig:
    """The registry's config factory: the `geometric` section of a backend options file, nested
    like the dataclasses (e.g. `grounding: {default_viewpoint: robot}`, `step_limits: {...}`)."""
    if model_dir:
        raise ValueError("parameter model_dir does not apply to policy 'geometric' (it has no weights)")
    return config_from_options(GeometricPolicyConfig, options, "geometric")


class RuleGrounder:
    """The built-in spatial reasoner (core.grounding) behind the Grounder interface."""

    name = "rules"

    def __init__(self, config: GroundingConfig | None = None) -> None:
        self.config = config or GroundingConfig()

    def ground(self, instruction: str, frame: RGBDFrame, marks: list[Mark],
               base_from_camera: np.ndarray) -> Grounding:
        return ground_instruction(instruction, marks, self.config, base_from_camera)


@dataclass
class _Plan:
    grounding: Grounding
    target: GroundedTarget
    place: PlaceGoal | None
    grasp: GraspPlan
    place_plan: PlacePlan | None
    object_mask: np.ndarray
    reference_depth_mm: np.ndarray
    plane_depth_mm: np.ndarray | None
    marks: list[Mark]


class GeometricPolicy:
    """Built-in spatial policy (default backend)."""

    name = "geometric"
    frame_every_step = False

    def __init__(self, config: GeometricPolicyConfig | None = None, proposer: MarkProposer | None = None,
                 grounder: Grounder | None = None) -> None:
        """proposer: any MarkProposer (e.g. a learned segmenter); the geometric one by default.
        grounder: any Grounder (e.g. a VLM choosing among the marks); the rule-based one by default."""
        self.config = config or GeometricPolicyConfig()
        self._proposer: MarkProposer = proposer or GeometricProposer(self.config.proposer)
        self.grounder: Grounder = grounder or RuleGrounder(self.config.grounding)
        self._instruction = ""
        self._plan: _Plan | None = None

    def reset(self, instruction: str) -> None:
        """Raises GroundingError when the rule grounder cannot parse an object phrase from the
        instruction ("hello"): nothing moves for it. A VLM grounder reads language the rules do not,
        so it decides at the first frame; an empty instruction is reported by step()."""
        self._plan = None
        if isinstance(self.grounder, RuleGrounder) and isinstance(instruction, str) and instruction.strip():
            require_object_phrase(instruction, self.config.grounding.default_viewpoint)
        self._instruction = instruction

    # -- perception -------------------------------------------------------------------------
    def perceive(self, frame: RGBDFrame, base_from_camera: np.ndarray) -> Proposals:
        return self._proposer.propose(frame, base_from_camera)

    def ground(self, frame: RGBDFrame, instruction: str, base_from_camera: np.ndarray) -> tuple[Proposals, Grounding]:
        """One-shot perception + grounding for a frame (what the spatial_policy node publishes)."""
        proposals = self.perceive(frame, base_from_camera)
        return proposals, self._verified(self.grounder.ground(instruction, frame, proposals.marks, base_from_camera),
                                         proposals)

    def _verified(self, grounding: Grounding, proposals: Proposals) -> Grounding:
        """Whatever grounder chose (rules, a VLM, ...), its marks must agree with what the phrases state, and
        nothing perception could not measure may be what they mean."""
        verify_grounding(grounding, CheckContext(proposals.marks, grounding.viewpoint, self.config.grounding,
                                                 tuple(proposals.unmeasured)))
        return grounding

    def _make_plan(self, obs: Observation, timings: dict[str, float]) -> _Plan:
        assert obs.frame is not None
        t0 = time.perf_counter()
        proposals = self.perceive(obs.frame, obs.base_from_camera)
        t1 = time.perf_counter()
        grounding = self._verified(self.grounder.ground(obs.instruction, obs.frame, proposals.marks,
                                                        obs.base_from_camera), proposals)
        t2 = time.perf_counter()
        mark = proposals.by_id(grounding.pick_mark_id)
        grasp = plan_mark_grasp(mark, obs.base_from_camera, self.config.grasp,
                                [m for m in proposals.marks if m.id != mark.id])
        place_goal, place_plan = self._place(grounding, proposals, grasp, obs.base_from_camera)
        t3 = time.perf_counter()
        timings.update(propose_ms=(t1 - t0) * 1e3, ground_ms=(t2 - t1) * 1e3, grasp_ms=(t3 - t2) * 1e3)
        centroid_base = mark.centroid_base if mark.centroid_base is not None else to_base(mark.centroid_cam, obs.base_from_camera)
        target = GroundedTarget(mark.id, mark.box_xyxy, mark.centroid_cam.copy(), np.asarray(centroid_base), mark.describe())
        plane_depth = self._plane_depth(obs.frame, proposals, mark.base_height_m)
        return _Plan(grounding, target, place_goal, grasp, place_plan, mark.mask.copy(),
                     obs.frame.depth_mm.copy(), plane_depth, proposals.marks)

    def _place(self, grounding: Grounding, proposals: Proposals, grasp: GraspPlan,
               base_from_camera: np.ndarray) -> tuple[PlaceGoal | None, PlacePlan | None]:
        place = grounding.place
        if place is None or place.point_base is None:
            return None, None
        point = np.asarray(place.point_base, dtype=float)[:2]
        support_height = proposals.by_id(place.mark_id).height_m if place.mark_id is not None else 0.0
        support_top = support_surface_z(place.kind, support_height, self.config.grasp)
        goal = PlaceGoal(place.kind, np.array([point[0], point[1], support_top]), place.mark_id, support_top,
                         place.relation)
        held_offset_z = float(grasp.grasp_pose[2, 3] - (grasp.object_top_z - grasp.object_height_m))
        plan = plan_place(point, grasp.object_height_m, held_offset_z, self.config.grasp,
                          support_top_z=support_top, yaw=grasp.yaw_rad)
        return goal, plan

    @staticmethod
    def _plane_depth(frame: RGBDFrame, proposals: Proposals, height_m: float = 0.0) -> np.ndarray | None:
        """Depth (mm) the bare surface the object stood on would have at every pixel (the table, or
        a support's top height_m above it): for the VERIFY check."""
        plane = proposals.plane
        if plane is None:
            return None
        k = frame.intrinsics
        v, u = np.mgrid[0 : k.height, 0 : k.width]
        rays = np.stack([(u - k.cx) / k.fx, (v - k.cy) / k.fy, np.ones_like(u, dtype=float)], axis=-1)
        denom = rays @ plane.normal
        with np.errstate(divide="ignore", invalid="ignore"):
            z = -(plane.offset - height_m) / denom
        z[(denom == 0) | (z <= 0)] = 0
        return (z * 1000.0).astype(np.float32)

    def judge_contact(self, obs: Observation) -> ContactEstimate:
        assert obs.frame is not None and self._plan is not None
        j = judge_contact(obs.frame, obs.fingertips_base, self._plan.object_mask, self.config.contact,
                          base_from_camera=obs.base_from_camera, points_frame="base",
                          reference_depth_mm=self._plan.reference_depth_mm)
        return ContactEstimate(bool(j.touching), float(j.gap_mm), j.evidence, bool(j.valid))

    def object_left_table(self, frame: RGBDFrame) -> tuple[bool, float]:
        """Fraction of the object's original pixels that now show the bare table."""
        assert self._plan is not None
        if self._plan.plane_depth_mm is None:
            return False, 0.0
        mask = self._plan.object_mask
        now = frame.depth_mm[mask].astype(np.float32)
        table = self._plan.plane_depth_mm[mask]
        valid = now > 0
        if not np.any(valid):
            return False, 0.0
        frac = float(np.mean(np.abs(now[valid] - table[valid]) <= 10.0))
        return frac >= self.config.lifted_table_fraction, frac

    # -- acting -----------------------------------------------------------------------------
    def _goal_pose(self, phase: TaskPhase, current: np.ndarray) -> np.ndarray | None:
        assert self._plan is not None
        g, p = self._plan.grasp, self._plan.place_plan
        if phase == TaskPhase.APPROACH:
            return g.pregrasp_pose
        if phase == TaskPhase.DESCEND:
            return g.grasp_pose
        if phase == TaskPhase.LIFT:
            return g.lift_pose
        if phase == TaskPhase.CARRY:
            return p.preplace_pose if p is not None else None
        if phase == TaskPhase.PLACE:
            return p.place_pose if p is not None else None
        if phase == TaskPhase.RETREAT:
            return p.retreat_pose if p is not None else g.lift_pose
        return None

    def _task_poses(self) -> dict[str, np.ndarray]:
        assert self._plan is not None
        g, p = self._plan.grasp, self._plan.place_plan
        poses = {"pregrasp": g.pregrasp_pose, "grasp": g.grasp_pose, "lift": g.lift_pose}
        if p is not None:
            poses.update(preplace=p.preplace_pose, place=p.place_pose, retreat=p.retreat_pose)
        return poses

    def step(self, obs: Observation) -> PolicyStep:
        timings: dict[str, float] = {}
        t_start = time.perf_counter()
        if self._plan is None:
            if obs.frame is None:
                return PolicyStep(EEAction(), error="no camera frame yet: the first step needs one")
            try:
                self._plan = self._make_plan(obs, timings)
            except GroundingError as exc:
                return PolicyStep(EEAction(), error=str(exc), timings_ms=timings,
                                  failure=FailureReason.GROUNDING_FAILED)
            except GraspError as exc:
                return PolicyStep(EEAction(), error=str(exc), timings_ms=timings,
                                  failure=FailureReason.NO_GRASP)
            except SpatialBotError as exc:
                return PolicyStep(EEAction(), error=str(exc), timings_ms=timings,
                                  failure=FailureReason.BAD_INPUT)
            log.info("grounded: %s", self._plan.grounding.explanation)
        plan = self._plan
        step = PolicyStep(EEAction(gripper=_GRIPPER_BY_PHASE[obs.phase]), target=plan.target, place=plan.place,
                          marks=plan.marks, explanation=plan.grounding.explanation, timings_ms=timings)
        step.task_poses = self._task_poses()  # the executive checks them all before moving
        if obs.frame is not None and obs.phase in (TaskPhase.CHECK_CONTACT, TaskPhase.CLOSE):
            t0 = time.perf_counter()
            step.contact = self.judge_contact(obs)
            timings["contact_ms"] = (time.perf_counter() - t0) * 1e3
        if obs.phase == TaskPhase.VERIFY and obs.frame is not None:
            lifted, frac = self.object_left_table(obs.frame)
            step.lift = LiftEvidence(lifted, frac)
        goal = self._goal_pose(obs.phase, obs.tcp_pose_base)
        if goal is None:
            if obs.phase in (TaskPhase.CARRY, TaskPhase.PLACE):
                step.error = "the instruction names no place target"
            step.phase_done = not step.error
        else:
            t0 = time.perf_counter()
            step.action = compute_ee_delta(obs.tcp_pose_base, goal, self.config.step_limits,
                                           gripper=_GRIPPER_BY_PHASE[obs.phase])
            step.phase_done = converged(obs.tcp_pose_base, goal, self.config.converge_tol_m,
                                        self.config.converge_tol_rad)
            timings["delta_ms"] = (time.perf_counter() - t0) * 1e3
            step.goal_pose = goal
        timings["step_ms"] = (time.perf_counter() - t_start) * 1e3
        return step
