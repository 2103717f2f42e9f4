"""The Policy protocol and the data that crosses it.

A policy sees an observation (RGB-D frame, instruction, task phase, proprioception) and emits a
PolicyStep: the Set-of-Mark grounded target, the contact judgment, and a 6-DoF end-effector delta
with a gripper command. The executive owns the phase sequence; the policy owns perception and
the action toward the phase's goal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from spatialbot_ros.core.actions import EEAction
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.grounding import Grounding
from spatialbot_ros.core.marks import Mark, Proposals
from spatialbot_ros.core.task import FailureReason, TaskPhase


@dataclass
class Observation:
    """What the policy gets each step. `frame` may be None between perception steps when the
    policy does not need a frame every step (Policy.frame_every_step is False)."""

    instruction: str
    phase: TaskPhase
    tcp_pose_base: np.ndarray
    gripper_width_m: float
    fingertips_base: np.ndarray
    base_from_camera: np.ndarray
    frame: RGBDFrame | None = None


@dataclass(frozen=True)
class GroundedTarget:
    """The SoM-chosen mark with its box and 3-D point (camera optical and base frames)."""

    mark_id: int
    box_xyxy: tuple[int, int, int, int]
    point_cam: np.ndarray
    point_base: np.ndarray
    label: str = ""


@dataclass(frozen=True)
class PlaceGoal:
    """Where the object goes: on/into a support mark or at a point relative to one."""

    kind: str
    point_base: np.ndarray
    support_mark_id: int | None = None
    support_top_z: float = 0.0
    relation: str | None = None


@dataclass(frozen=True)
class ContactEstimate:
    """Policy-level contact judgment (the geometric policy fills it from core.contact)."""

    touching: bool
    gap_mm: float
    evidence: str
    valid: bool = True


@dataclass(frozen=True)
class LiftEvidence:
    """VERIFY: whether the object's pixels left the table (the executive aborts a lift without it)."""

    object_left_table: bool
    table_visible_fraction: float


@dataclass
class PolicyStep:
    """One step's output. The executive and the nodes read only the typed fields; `extras` carries
    backend-specific diagnostics (e.g. Magma's raw tokens) for logs and is never interpreted.

    failure: why the step is unusable (with `error`); POLICY_ERROR when unset.
    task_poses: {name: base_from_tcp} of every pose the task will visit (pregrasp, grasp, lift,
        preplace, place, retreat), so the executive can check them all before the arm moves.
    goal_pose: the phase's goal pose the action steers to (published as the grasp frame on TF).
    lift: the VERIFY phase's evidence that the object left the table."""

    action: EEAction
    phase_done: bool = False
    target: GroundedTarget | None = None
    place: PlaceGoal | None = None
    contact: ContactEstimate | None = None
    marks: list[Mark] = field(default_factory=list)
    explanation: str = ""
    error: str = ""  # non-empty: the policy could not produce a usable step; the robot must not move
    timings_ms: dict[str, float] = field(default_factory=dict)
    failure: FailureReason | None = None
    task_poses: dict[str, np.ndarray] = field(default_factory=dict)
    goal_pose: np.ndarray | None = None
    lift: LiftEvidence | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    # the probability the policy gives its chosen pick mark (calibrated where the backend has a fitted
    # temperature); None for backends that give none. Scored against the truth by the eval (ECE).
    confidence: float | None = None

    @property
    def ok(self) -> bool:
        return not self.error


@runtime_checkable
class Policy(Protocol):
    """What the executive calls. reset() raises GroundingError for an instruction the policy can
    already tell it cannot do (nothing moves); step() reports problems in PolicyStep.error."""

    name: str
    frame_every_step: bool

    def reset(self, instruction: str) -> None: ...

    def step(self, obs: Observation) -> PolicyStep: ...


@runtime_checkable
class Perceiver(Protocol):
    """What the spatial_policy node calls on every frame: perception and grounding without acting.
    Raises GroundingError (a refusal naming the candidates) when it cannot name exactly one object.
    Action-only backends (Magma) do not offer it; the node refuses them when it starts."""

    name: str

    def ground(self, frame: RGBDFrame, instruction: str,
               base_from_camera: np.ndarray) -> tuple[Proposals, Grounding]: ...


class Grounder(Protocol):
    """Chooses the pick mark (and place target) among Set-of-Mark proposals: the rule-based
    reasoner, a learned scorer or a VLM. Raises GroundingError (with the candidates) when it cannot
    name exactly one object; an unparseable model answer is such a failure, never a guess."""

    name: str

    def ground(self, instruction: str, frame: RGBDFrame, marks: list[Mark],
               base_from_camera: np.ndarray) -> Grounding: ...
