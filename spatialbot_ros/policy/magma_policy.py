"""Magma-style action policy: Set-of-Mark prompt in, 7 action tokens out, decoded into a clipped
6-DoF end-effector delta and a gripper command.

Decoding follows OpenVLA/Magma: bin = vocab_size - token_id - 1 (clipped to 0..254), the centre of
that bin among 256 uniform bins on [-1, 1], un-normalised per dimension with the dataset's 1st/99th
percentile bounds (from config); the gripper value stays on [-1, 1] and is thresholded. The three
rotation values are roll, pitch, yaw (static x-y-z Euler angles, as Magma's own SimplerEnv adapter
reads them before turning them into an axis-angle); `rotation_format: rotvec` reads them as a
rotation vector instead. The delta is then clipped to the safety step limits like every other
backend's.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from scipy.spatial.transform import Rotation

from spatialbot_ros.core.actions import EEAction, GripperCommand
from spatialbot_ros.core.ee_delta import StepLimits, clip_delta
from spatialbot_ros.core.marks import Mark
from spatialbot_ros.core.som_overlay import draw_marks
from spatialbot_ros.core.som_proposer import GeometricProposer
from spatialbot_ros.policy.base import Observation, PolicyStep
from spatialbot_ros.policy.parsers import ActionTokenizerConfig, decode_action_tokens
from spatialbot_ros.policy.vlm_client import VlmError, VlmRequest
from spatialbot_ros.policy.vlm_prompts import action_question, mark_lines

log = logging.getLogger(__name__)

GRIPPER_CONVENTIONS = ("close_positive", "open_positive")
ROTATION_FORMATS = ("rpy", "rotvec")


class ActionTokenModel(Protocol):
    name: str

    @property
    def vocab_size(self) -> int: ...

    def generate_token_ids(self, request: VlmRequest, n_tokens: int) -> list[int]: ...


@dataclass(frozen=True)
class MagmaActionConfig:
    """low/high: per-dimension 1st/99th percentiles of (dx, dy, dz, rx, ry, rz) in the training data
    (metres, radians). gripper_convention: which sign of the 7th value closes the gripper; values
    within `gripper_deadband` of 0 hold."""

    low: tuple[float, ...] = (-0.03, -0.03, -0.03, -0.2, -0.2, -0.2)
    high: tuple[float, ...] = (0.03, 0.03, 0.03, 0.2, 0.2, 0.2)
    gripper_convention: str = "close_positive"
    gripper_deadband: float = 0.1
    som: bool = True
    step_limits: StepLimits = field(default_factory=StepLimits)
    rotation_format: str = "rpy"   # rpy: roll/pitch/yaw (Magma, OpenVLA on SimplerEnv); rotvec: axis*angle

    def __post_init__(self) -> None:
        lo, hi = np.asarray(self.low, float), np.asarray(self.high, float)
        if lo.shape != (6,) or hi.shape != (6,) or not np.all(np.isfinite(lo)) or not np.all(np.isfinite(hi)):
            raise ValueError("magma: low and high must be 6 finite numbers each")
        if np.any(hi <= lo):
            raise ValueError("magma: every high bound must exceed its low bound")
        if self.gripper_convention not in GRIPPER_CONVENTIONS:
            raise ValueError(f"magma: gripper_convention must be one of {GRIPPER_CONVENTIONS}")
        if not 0 <= self.gripper_deadband < 1:
            raise ValueError("magma: gripper_deadband must be in [0, 1)")
        if self.rotation_format not in ROTATION_FORMATS:
            raise ValueError(f"magma: rotation_format must be one of {ROTATION_FORMATS}")


def gripper_command(value: float, config: MagmaActionConfig) -> GripperCommand:
    """The normalised gripper value (-1..1) as a command under the configured convention."""
    if abs(value) <= config.gripper_deadband:
        return GripperCommand.HOLD
    closing = value > 0 if config.gripper_convention == "close_positive" else value < 0
    return GripperCommand.CLOSE if closing else GripperCommand.OPEN


def action_from_tokens(token_ids: list[int], vocab_size: int, config: MagmaActionConfig) -> tuple[EEAction, dict]:
    """7 token ids -> clipped EEAction and the raw decoded values; ValueError when unparseable."""
    parsed = decode_action_tokens(np.asarray(token_ids, dtype=np.int64),
                                  ActionTokenizerConfig(vocab_size, np.asarray(config.low), np.asarray(config.high)))
    if not parsed.ok:
        raise ValueError(parsed.reason)
    delta, grip = parsed.value
    rotation = np.asarray(delta[3:], float)
    if config.rotation_format == "rpy":  # static x-y-z Euler angles -> the axis-angle an EEAction carries
        rotation = Rotation.from_euler("xyz", rotation).as_rotvec()
    t, r = clip_delta(delta[:3], rotation, config.step_limits)
    return EEAction(t, r, gripper_command(grip, config)), {"raw_delta": delta.tolist(), "gripper_value": grip}


class MagmaPolicy:
    """Policy protocol: every step asks the model for an action on the current SoM-marked frame.
    It grounds no target itself (the executive's phases do not apply); use it where raw per-step
    actions are wanted: the spatial_policy node, SimplerEnv-style loops."""

    frame_every_step = True

    def __init__(self, model: ActionTokenModel, config: MagmaActionConfig | None = None) -> None:
        self.model = model
        self.config = config or MagmaActionConfig()
        self.name = f"magma:{model.name}"
        self.proposer = GeometricProposer()
        self.instruction = ""

    def reset(self, instruction: str) -> None:
        self.instruction = instruction

    def _request(self, obs: Observation, marks: list[Mark]) -> VlmRequest:
        assert obs.frame is not None
        image = obs.frame.color_rgb
        question = action_question(obs.instruction or self.instruction)
        if self.config.som and marks:
            h, w = obs.frame.depth_mm.shape
            image = draw_marks(image, marks)
            question += " Objects: " + "; ".join(mark_lines(marks, w, h)) + "."
        return VlmRequest(question, [image])

    def step(self, obs: Observation) -> PolicyStep:
        t0 = time.perf_counter()
        hold = EEAction()
        if obs.frame is None:
            return PolicyStep(hold, error="magma policy needs a frame every step")
        if not (obs.instruction or self.instruction).strip():
            return PolicyStep(hold, error="empty instruction")
        marks = self.proposer.propose(obs.frame, obs.base_from_camera).marks if self.config.som else []
        try:
            ids = self.model.generate_token_ids(self._request(obs, marks), 7)
            action, raw = action_from_tokens(ids, self.model.vocab_size, self.config)
        except (VlmError, ValueError) as e:
            return PolicyStep(hold, marks=marks, error=f"magma: {e}")
        return PolicyStep(action, marks=marks, explanation=f"action tokens {ids}", extras={"tokens": ids, **raw},
                          timings_ms={"total": (time.perf_counter() - t0) * 1e3})
