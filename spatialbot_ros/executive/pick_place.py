"""The pick-and-place executive: an explicit state machine over named phases.

Each phase asks the policy for a step and executes it through a motion backend after the safety
checker has accepted it. Perception happens only through camera frames (the policy's view);
every way an attempt can end is a FailureReason, never an exception trace.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from spatialbot_ros.core.actions import GripperCommand
from spatialbot_ros.core.ee_delta import apply_ee_action
from spatialbot_ros.core.errors import FrameError, SpatialBotError
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.grasp import top_down_rotation
from spatialbot_ros.core.safety import EStop, SafetyChecker, SafetyViolation
from spatialbot_ros.core.task import FailureReason, TaskPhase
from spatialbot_ros.core.transforms import make_pose
from spatialbot_ros.motion.base import MotionBackend, MotionResult, MotionStatus
from spatialbot_ros.policy.base import Observation, Policy, PolicyStep

log = logging.getLogger(__name__)

PHASE_SEQUENCE: tuple[TaskPhase, ...] = (
    TaskPhase.APPROACH, TaskPhase.DESCEND, TaskPhase.CHECK_CONTACT, TaskPhase.CLOSE, TaskPhase.LIFT,
    TaskPhase.VERIFY, TaskPhase.CARRY, TaskPhase.PLACE, TaskPhase.RELEASE, TaskPhase.RETREAT,
)
PICK_ONLY_SEQUENCE: tuple[TaskPhase, ...] = PHASE_SEQUENCE[:6]
_MOVE_PHASES = {TaskPhase.APPROACH, TaskPhase.DESCEND, TaskPhase.LIFT, TaskPhase.CARRY, TaskPhase.PLACE,
                TaskPhase.RETREAT}


class FrameSource(Protocol):
    """Where frames come from (sim renderer, ROS subscription, pyrealsense2)."""

    base_from_camera: np.ndarray

    def latest_frame(self) -> RGBDFrame: ...

    def now_s(self) -> float: ...


@dataclass
class ExecutiveConfig:
    max_steps_per_phase: int = 40
    frame_max_age_s: float = 0.5
    speed_scale: float = 1.0
    min_held_width_m: float = 0.006       # fingers closed further than this: nothing in the hand
    max_precheck_gap_mm: float = 45.0     # CHECK_CONTACT: object surface this close to the fingertips
    require_lift_evidence: bool = True    # VERIFY needs the depth view to show the table where it stood
    pick_only: bool = False
    # perceive from a pose where the arm is out of the camera's way (None: perceive from anywhere)
    observe_tcp_xyz: tuple[float, float, float] | None = (0.42, 0.0, 0.35)
    observe_tolerance_m: float = 0.02

    def observe_pose(self) -> np.ndarray | None:
        """base_from_tcp of the observe pose (top-down at observe_tcp_xyz), None when disabled."""
        return None if self.observe_tcp_xyz is None else make_pose(self.observe_tcp_xyz, top_down_rotation(0.0))


@dataclass
class StepRecord:
    phase: TaskPhase
    index: int
    step: PolicyStep
    tcp_pose_base: np.ndarray
    frame: RGBDFrame | None = None
    motion: MotionResult | None = None
    wall_s: float = 0.0


@dataclass
class PickPlaceResult:
    succeeded: bool
    reason: FailureReason
    message: str = ""
    explanation: str = ""
    phase_reached: TaskPhase = TaskPhase.APPROACH
    steps: int = 0
    wall_s: float = 0.0
    timings_ms: dict[str, list[float]] = field(default_factory=dict)
    contact_judgments: list[tuple[TaskPhase, bool, bool]] = field(default_factory=list)  # (phase, touching, valid)
    target_mark_id: int | None = None


class PickPlaceExecutive:
    """Runs one instruction to completion or to a named failure."""

    def __init__(self, policy: Policy, motion: MotionBackend, camera: FrameSource, safety: SafetyChecker,
                 config: ExecutiveConfig | None = None, estop: EStop | None = None,
                 on_step: Callable[[StepRecord], None] | None = None) -> None:
        self.policy = policy
        self.motion = motion
        self.camera = camera
        self.safety = safety
        self.config = config or ExecutiveConfig()
        self.estop = estop or EStop()
        self.on_step = on_step
        self._cancel = False
        self._pick_only = self.config.pick_only
        self.phase = TaskPhase.APPROACH

    def cancel(self) -> None:
        self._cancel = True

    # -- helpers ----------------------------------------------------------------------------
    def _fingertips(self, tcp: np.ndarray, width_m: float) -> np.ndarray:
        y = tcp[:3, 1]
        return np.stack([tcp[:3, 3] + y * width_m / 2.0, tcp[:3, 3] - y * width_m / 2.0])

    def _frame(self) -> RGBDFrame:
        try:
            frame = self.camera.latest_frame()
        except FrameError as exc:  # no frame at all is the stalest frame
            raise _Abort(FailureReason.STALE_FRAME, str(exc)) from exc
        age = self.camera.now_s() - frame.stamp_s
        if age > self.config.frame_max_age_s:
            raise _Abort(FailureReason.STALE_FRAME,
                         f"camera frame is {age:.2f} s old (limit {self.config.frame_max_age_s:.2f} s)")
        return frame

    def _observe(self, instruction: str, phase: TaskPhase, with_frame: bool) -> Observation:
        tcp = self.motion.current_pose()
        width = self.motion.gripper_state().width_m
        frame = self._frame() if (with_frame or self.policy.frame_every_step) else None
        return Observation(instruction, phase, tcp, width, self._fingertips(tcp, width),
                           self.camera.base_from_camera, frame)

    def _check_interrupts(self) -> None:
        if self.estop.engaged:
            raise _Abort(FailureReason.ESTOP, f"e-stop engaged: {self.estop.reason}")
        if self._cancel:
            raise _Abort(FailureReason.CANCELLED, "cancelled by request")

    def _policy_step(self, obs: Observation, result: PickPlaceResult, index: int) -> PolicyStep:
        t0 = time.perf_counter()
        step = self.policy.step(obs)
        wall = time.perf_counter() - t0
        for key, value in step.timings_ms.items():
            result.timings_ms.setdefault(key, []).append(value)
        result.timings_ms.setdefault("policy_step_ms", []).append(wall * 1e3)
        if step.target is not None:
            result.target_mark_id = step.target.mark_id
            result.explanation = step.explanation
            if step.ok and step.place is None:
                self._pick_only = True  # "pick up the red cup": no place phrase, end holding it
        if self.on_step is not None:
            self.on_step(StepRecord(obs.phase, index, step, obs.tcp_pose_base, obs.frame, wall_s=wall))
        if not step.ok:
            reason = FailureReason(step.extras.get("failure", FailureReason.POLICY_ERROR.value))
            raise _Abort(reason, step.error)
        return step

    def _execute(self, step: PolicyStep, tcp: np.ndarray) -> None:
        action = step.action
        try:
            self.safety.check_delta(action)
            target = apply_ee_action(tcp, action)
            self.safety.check_pose(target)
        except SafetyViolation as exc:
            raise _Abort(FailureReason.SAFETY_REFUSED, str(exc)) from exc
        self._check_interrupts()
        outcome = self.motion.move_linear(target, self.config.speed_scale)
        if not outcome.ok:
            reason = {MotionStatus.REFUSED: FailureReason.SAFETY_REFUSED,
                      MotionStatus.UNREACHABLE: FailureReason.UNREACHABLE}.get(outcome.status, FailureReason.MOTION_FAILED)
            raise _Abort(reason, outcome.message or outcome.status.value)

    def _gripper(self, command: GripperCommand) -> None:
        self._check_interrupts()
        outcome = self.motion.gripper(command)
        if not outcome.ok:
            raise _Abort(FailureReason.SAFETY_REFUSED if outcome.status == MotionStatus.REFUSED
                         else FailureReason.MOTION_FAILED, outcome.message)

    def _go_to_observe_pose(self) -> None:
        target = self.config.observe_pose()
        if target is None:
            return
        current = self.motion.current_pose()
        if np.linalg.norm(current[:3, 3] - target[:3, 3]) <= self.config.observe_tolerance_m:
            return
        try:
            self.safety.check_pose(target)
        except SafetyViolation as exc:
            raise _Abort(FailureReason.SAFETY_REFUSED, f"observe pose: {exc}") from exc
        self._check_interrupts()
        outcome = self.motion.move_to_pose(target, self.config.speed_scale)
        if not outcome.ok:
            raise _Abort(FailureReason.UNREACHABLE if outcome.status == MotionStatus.UNREACHABLE
                         else FailureReason.MOTION_FAILED, f"observe pose: {outcome.message}")

    # -- phases -----------------------------------------------------------------------------
    def _run_move_phase(self, instruction: str, phase: TaskPhase, result: PickPlaceResult,
                        first_needs_frame: bool) -> None:
        for i in range(self.config.max_steps_per_phase):
            self._check_interrupts()
            obs = self._observe(instruction, phase, with_frame=first_needs_frame and i == 0)
            step = self._policy_step(obs, result, result.steps)
            result.steps += 1
            if step.phase_done:
                return
            self._execute(step, obs.tcp_pose_base)
        raise _Abort(FailureReason.TIMEOUT, f"{phase.value}: goal not reached in {self.config.max_steps_per_phase} steps")

    def _run_phase(self, instruction: str, phase: TaskPhase, result: PickPlaceResult) -> None:
        cfg = self.config
        if phase in _MOVE_PHASES:
            if phase == TaskPhase.APPROACH:
                self._go_to_observe_pose()
                self._gripper(GripperCommand.OPEN)
            self._run_move_phase(instruction, phase, result, first_needs_frame=phase == TaskPhase.APPROACH)
            return
        if phase == TaskPhase.CLOSE:
            self._gripper(GripperCommand.CLOSE)
        if phase == TaskPhase.RELEASE:
            self._gripper(GripperCommand.OPEN)
            return
        obs = self._observe(instruction, phase, with_frame=True)
        step = self._policy_step(obs, result, result.steps)
        result.steps += 1
        if step.contact is not None:
            result.contact_judgments.append((phase, step.contact.touching, step.contact.valid))
        width = obs.gripper_width_m
        if phase == TaskPhase.CHECK_CONTACT and step.contact is not None and step.contact.valid \
                and step.contact.gap_mm > cfg.max_precheck_gap_mm:
            raise _Abort(FailureReason.CONTACT_CHECK_FAILED,
                         f"object surface is {step.contact.gap_mm:.0f} mm from the fingertips: {step.contact.evidence}")
        if phase == TaskPhase.CLOSE and width < cfg.min_held_width_m:
            raise _Abort(FailureReason.GRASP_MISSED,
                         f"gripper closed to {width * 1000:.1f} mm: nothing between the fingers")
        if phase == TaskPhase.VERIFY:
            if width < cfg.min_held_width_m:
                raise _Abort(FailureReason.LIFT_FAILED, f"object slipped: gripper closed to {width * 1000:.1f} mm")
            if cfg.require_lift_evidence and not step.extras.get("object_left_table", True):
                frac = step.extras.get("table_visible_fraction", 0.0)
                raise _Abort(FailureReason.LIFT_FAILED,
                             f"object still on the table ({frac:.0%} of its pixels show the table)")

    def run(self, instruction: str) -> PickPlaceResult:
        """Execute one instruction. Bad input is refused before any motion."""
        t0 = time.perf_counter()
        result = PickPlaceResult(False, FailureReason.NONE)
        self._cancel = False
        if not isinstance(instruction, str) or not instruction.strip():
            result.reason, result.message = FailureReason.BAD_INPUT, "empty instruction"
            return result
        self.policy.reset(instruction)
        sequence = PICK_ONLY_SEQUENCE if self.config.pick_only else PHASE_SEQUENCE
        self._pick_only = self.config.pick_only
        try:
            for phase in sequence:
                if self._pick_only and phase not in PICK_ONLY_SEQUENCE:
                    break
                self.phase = result.phase_reached = phase
                log.info("phase %s", phase.value)
                self._run_phase(instruction, phase, result)
            self.phase = result.phase_reached = TaskPhase.DONE
            result.succeeded = True
        except _Abort as abort:
            result.reason, result.message = abort.reason, abort.message
            log.warning("pick-place ended in %s: %s", abort.reason.value, abort.message)
            self.motion.stop()
        except SpatialBotError as exc:
            result.reason, result.message = FailureReason.BAD_INPUT, str(exc)
            log.warning("pick-place refused bad input: %s", exc)
            self.motion.stop()
        result.wall_s = time.perf_counter() - t0
        return result


class _Abort(Exception):
    def __init__(self, reason: FailureReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
