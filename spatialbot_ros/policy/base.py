"""The Policy protocol and the data that crosses it.

A policy sees an observation (RGB-D frame, instruction, task phase, proprioception) and emits a
PolicyStep: the Set-of-Mark grounded target, the contact judgment, and a 6-DoF end-effector delta
with a gripper command. The executive owns the phase sequence; the policy owns perception and
the action toward the phase's goal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from spatialbot_ros.core.actions import EEAction
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.grounding import Grounding
from spatialbot_ros.core.marks import Mark
from spatialbot_ros.core.task import TaskPhase


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


@dataclass
class PolicyStep:
    action: EEAction
    phase_done: bool = False
    target: GroundedTarget | None = None
    place: PlaceGoal | None = None
    contact: ContactEstimate | None = None
    marks: list[Mark] = field(default_factory=list)
    explanation: str = ""
    error: str = ""  # non-empty: the policy could not produce a usable step; the robot must not move
    timings_ms: dict[str, float] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.error


class Policy(Protocol):
    name: str
    frame_every_step: bool

    def reset(self, instruction: str) -> None: ...

    def step(self, obs: Observation) -> PolicyStep: ...


class Grounder(Protocol):
    """Chooses the pick mark (and place target) among Set-of-Mark proposals: the rule-based
    reasoner, a learned scorer or a VLM. Raises GroundingError (with the candidates) when it cannot
    name exactly one object; an unparseable model answer is such a failure, never a guess."""

    name: str

    def ground(self, instruction: str, frame: RGBDFrame, marks: list[Mark],
               base_from_camera: np.ndarray) -> Grounding: ...
