"""One simulated pick-and-place episode: build the cell from a scene, run the executive with the
chosen policy (which perceives only through rendered RGB-D), then score it against ground truth."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.object_kinds import ObjectKind
from spatialbot_ros.core.safety import SafetyChecker, SafetyLimits
from spatialbot_ros.core.task import FailureReason, TaskPhase
from spatialbot_ros.executive.pick_place import ExecutiveConfig, PickPlaceExecutive, StepRecord
from spatialbot_ros.executive.shared_autonomy import Operator, SharedAutonomyConfig
from spatialbot_ros.motion.safety_gate import SafeMotion
from spatialbot_ros.policy.base import Policy
from spatialbot_ros.sim.scene import Scene

if TYPE_CHECKING:  # MuJoCo is imported when an episode runs, not by code that only reads results
    from spatialbot_ros.sim.cell import CellConfig, Ur5Cell

log = logging.getLogger(__name__)

SUCCESS_RADIUS_M = 0.03
UPRIGHT_TOL_DEG = 20.0


class SimCamera:
    """FrameSource over the simulated cell: renders only when the pipeline asks for a frame."""

    def __init__(self, cell: Ur5Cell) -> None:
        self.cell = cell
        self.base_from_camera = cell.base_from_camera
        self.render_ms: list[float] = []
        self.last_frame: RGBDFrame | None = None

    def latest_frame(self) -> RGBDFrame:
        t0 = time.perf_counter()
        self.last_frame = self.cell.render_rgbd(stamp_s=self.cell.time_s)
        self.render_ms.append((time.perf_counter() - t0) * 1e3)
        return self.last_frame

    def now_s(self) -> float:
        return self.cell.time_s


def sim_motion(cell: Ur5Cell, safety: SafetyChecker | None = None) -> SafeMotion:
    """The cell's motion backend behind the safety gate: the simulator needs no arming, every
    command is still planned, checked and only then executed."""
    from spatialbot_ros.sim.mujoco_backend import MujocoMotionBackend

    return SafeMotion(MujocoMotionBackend(cell), safety or SafetyChecker(), real_hardware=False)


def view_from_observe_pose(cell: Ur5Cell) -> tuple[SafeMotion, RGBDFrame]:
    """Move the arm to the executive's observe pose and render what the camera sees from there:
    the frame perception works on before anything is grasped."""
    motion = sim_motion(cell)
    pose = ExecutiveConfig().observe_pose()
    assert pose is not None
    result = motion.move_to_pose(pose)
    if not result.ok:
        log.warning("observe pose not reached: %s", result.message)
    return motion, cell.render_rgbd(stamp_s=cell.time_s)


@dataclass
class EpisodeResult:
    scene: str
    instruction: str
    success: bool
    reason: str
    message: str
    explanation: str
    grounding_correct: bool | None
    place_grounding_correct: bool | None
    contact_agree: int
    contact_total: int
    place_error_m: float | None
    upright: bool | None
    sim_time_s: float
    wall_s: float
    latency_ms: dict[str, float] = field(default_factory=dict)
    executive_succeeded: bool = False
    interventions: int = 0          # shared autonomy: operator take-overs
    operator_label: str = "none"    # the operator's verdict (success / failure / rerecord / stop), if any
    pick_confidence: float | None = None   # the policy's probability for the pick it acted on (ECE vs grounding_correct)


def _majority_object(seg: np.ndarray, mask: np.ndarray, names: list[str]) -> str | None:
    ids = seg[mask]
    ids = ids[ids >= 0]
    if ids.size == 0:
        return None
    return names[int(np.bincount(ids).argmax())]


def placed(kind: ObjectKind, upright: bool, place_error_m: float, held: bool) -> bool:
    """A place is done when the object is on target, released and standing; a kind without an up (a
    ball) is placed however it came to rest, so one that rolled over on its target still counts."""
    return place_error_m <= SUCCESS_RADIUS_M and not held and (upright or not kind.has_up)


def expected_place_point(scene: Scene, cell: Ur5Cell) -> np.ndarray | None:
    """Where the object must end up (xy): the place object's current position or the scene's point."""
    exp = scene.expected
    if exp.place is not None:
        return cell.object_pose(exp.place)[:2, 3].copy()
    if exp.place_point is not None:
        return np.asarray(exp.place_point, dtype=float)[:2]
    return None


def run_episode(scene: Scene, policy: Policy, *, cell_config: CellConfig | None = None,
                executive_config: ExecutiveConfig | None = None, safety_limits: SafetyLimits | None = None,
                on_step: Callable[[StepRecord, Ur5Cell], None] | None = None,
                operator_for: Callable[[Ur5Cell], Operator] | None = None,
                shared: SharedAutonomyConfig | None = None) -> EpisodeResult:
    """One episode in a fresh cell, scored against the simulator's truth. operator_for: shared
    autonomy (an operator built on the episode's cell, offered control before each policy action)."""
    from spatialbot_ros.sim.cell import CellConfig, Ur5Cell

    t_wall = time.perf_counter()
    cell = Ur5Cell(scene.objects, cell_config or CellConfig.from_scene(scene))
    cell.reset()
    camera = SimCamera(cell)
    motion = sim_motion(cell, SafetyChecker(safety_limits or SafetyLimits()))
    names = list(cell.object_names)
    pick_name = scene.expected.pick
    place_target = expected_place_point(scene, cell)
    grounding: dict[str, bool | None] = {"pick": None, "place": None}
    confidence: list[float] = []
    contact = {"agree": 0, "total": 0}

    def record(rec: StepRecord) -> None:
        step = rec.step
        if grounding["pick"] is None and step.target is not None and rec.frame is not None:
            seg = cell.segmentation()
            mark = next((m for m in step.marks if m.id == step.target.mark_id), None)
            chosen = _majority_object(seg, mark.mask, names) if mark is not None else None
            grounding["pick"] = chosen == pick_name
            if step.confidence is not None:
                confidence.append(float(step.confidence))
            if step.place is not None and place_target is not None:
                if scene.expected.place is not None and step.place.support_mark_id is not None:
                    sup = next((m for m in step.marks if m.id == step.place.support_mark_id), None)
                    grounding["place"] = sup is not None and _majority_object(seg, sup.mask, names) == scene.expected.place
                else:
                    grounding["place"] = bool(np.linalg.norm(step.place.point_base[:2] - place_target) <= SUCCESS_RADIUS_M)
            else:
                grounding["place"] = step.place is None and place_target is None
        if step.contact is not None and rec.frame is not None:
            truth = any(cell.fingertip_contacts(pick_name))
            contact["total"] += 1
            contact["agree"] += int(step.contact.touching == truth)
        if on_step is not None:
            on_step(rec, cell)

    operator = operator_for(cell) if operator_for is not None else None
    executive = PickPlaceExecutive(policy, motion, camera, config=executive_config, on_step=record,
                                   operator=operator, shared=shared)
    result = executive.run(scene.instruction)
    if result.succeeded:
        cell.step_seconds(0.6)  # let the object settle before scoring
    place_error, upright, success = None, None, False
    if pick_name in names:
        pose = cell.object_pose(pick_name)
        upright = bool(cell.object_upright(pick_name, tol_deg=UPRIGHT_TOL_DEG))
        if place_target is not None:
            place_error = float(np.linalg.norm(pose[:2, 3] - place_target))
            success = result.succeeded and placed(scene.object(pick_name).object_kind, upright, place_error,
                                                  cell.object_in_gripper(pick_name))
        else:  # pick-only: the object must be held above the table
            success = result.succeeded and cell.object_in_gripper(pick_name)
    if grounding["pick"] is None and result.reason == FailureReason.GROUNDING_FAILED:
        grounding["pick"] = False  # refusing a groundable instruction counts against grounding accuracy
    latency = {k: float(np.median(v)) for k, v in result.timings_ms.items() if v}
    if camera.render_ms:
        latency["render_ms"] = float(np.median(camera.render_ms))
    reason = result.reason.value if not success else FailureReason.NONE.value
    if result.succeeded and not success:
        reason = FailureReason.PLACE_FAILED.value
    message = result.message
    if result.succeeded and not success:
        message = (f"object ended {place_error if place_error is not None else float('nan'):.3f} m from the "
                   f"target, upright={upright}")
    return EpisodeResult(
        scene=scene.name, instruction=scene.instruction, success=bool(success), reason=reason, message=message,
        explanation=result.explanation, grounding_correct=grounding["pick"],
        place_grounding_correct=grounding["place"], contact_agree=contact["agree"],
        contact_total=contact["total"], place_error_m=place_error, upright=upright, sim_time_s=cell.time_s,
        wall_s=time.perf_counter() - t_wall, latency_ms=latency, executive_succeeded=result.succeeded,
        interventions=result.interventions, operator_label=result.operator_label.value,
        pick_confidence=confidence[0] if confidence else None,
    )


__all__ = ["EpisodeResult", "SimCamera", "run_episode", "sim_motion", "TaskPhase"]
