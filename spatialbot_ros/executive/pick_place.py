"""The pick-and-place executive: an explicit state machine over named phases.

Each phase asks the policy for a step and sends it through the safety gate (motion/safety_gate.py,
SafeMotion: plan, check every waypoint, execute or dry-run); the executive keeps no motion checks
of its own beyond one: when the policy first grounds the object (and place), every pose the task
will visit is checked against the workspace before anything moves toward it. Perception happens
only through camera frames (the policy's view); every way an attempt can end is a FailureReason,
never an exception trace: run() never raises.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from spatialbot_ros.core.actions import EEAction, GripperCommand
from spatialbot_ros.core.errors import (
    FrameError,
    GraspError,
    GroundingError,
    ObjectTooWideError,
    SpatialBotError,
)
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.grasp import (
    GraspConfig,
    fingers_hit,
    grasp_height,
    plan_mark_grasp,
    top_down_rotation,
)
from spatialbot_ros.core.safety import EStop, SafetyChecker, SafetyReason, SafetyViolation
from spatialbot_ros.core.task import FailureReason, TaskPhase
from spatialbot_ros.core.teleop import TeleopEvent
from spatialbot_ros.core.transforms import make_pose, transform_points
from spatialbot_ros.executive.shared_autonomy import (
    Control,
    EpisodeLabel,
    Intervention,
    Operator,
    OperatorView,
    Pacer,
    SharedAutonomyConfig,
    SharedAutonomyLog,
    gripper_change,
    labelled,
    operator_action,
    resume_phase,
)
from spatialbot_ros.motion.base import GripperState, MotionResult, MotionStatus, PlanningFailed
from spatialbot_ros.policy.base import Observation, Policy, PolicyStep

log = logging.getLogger(__name__)

PHASE_SEQUENCE: tuple[TaskPhase, ...] = (
    TaskPhase.APPROACH, TaskPhase.DESCEND, TaskPhase.CHECK_CONTACT, TaskPhase.CLOSE, TaskPhase.LIFT,
    TaskPhase.VERIFY, TaskPhase.CARRY, TaskPhase.PLACE, TaskPhase.RELEASE, TaskPhase.RETREAT,
)
PICK_ONLY_SEQUENCE: tuple[TaskPhase, ...] = PHASE_SEQUENCE[:6]
_MOVE_PHASES = {TaskPhase.APPROACH, TaskPhase.DESCEND, TaskPhase.LIFT, TaskPhase.CARRY, TaskPhase.PLACE,
                TaskPhase.RETREAT}


_CHECKED_TASK_POSES = ("pregrasp", "grasp", "lift", "preplace", "place", "retreat")


class GatedMotion(Protocol):
    """What the executive moves through: SafeMotion (motion/safety_gate.py) or anything with its methods."""

    def current_pose(self) -> np.ndarray: ...

    def gripper_state(self) -> GripperState: ...

    def move_to_pose(self, base_from_tcp: np.ndarray, speed_scale: float = 1.0) -> MotionResult: ...

    def move_by_delta(self, action: EEAction, speed_scale: float = 1.0) -> MotionResult: ...

    def gripper(self, command: GripperCommand, force_n: float | None = None) -> MotionResult: ...

    def stop(self) -> None: ...


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
    # before the descent, whatever policy steers: the object must fit the open gripper at some yaw, and the open
    # fingers at the gripper's yaw must not come down on another object (the pads' geometry: GraspConfig)
    check_finger_room: bool = True
    gripper: GraspConfig = field(default_factory=GraspConfig)

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
    executed: EEAction | None = None   # what was sent (None: the policy's step.action)
    control: Control = Control.POLICY


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
    interventions: int = 0
    operator_label: EpisodeLabel = EpisodeLabel.NONE


_BY_CAUSE = {SafetyReason.ESTOPPED.value: FailureReason.ESTOP, SafetyReason.STALE_INPUT.value: FailureReason.STALE_FRAME}
_BY_STATUS = {MotionStatus.REFUSED: FailureReason.SAFETY_REFUSED, MotionStatus.UNREACHABLE: FailureReason.UNREACHABLE,
              MotionStatus.NOT_READY: FailureReason.ROBOT_NOT_READY, MotionStatus.ABORTED: FailureReason.MOTION_FAILED}


class PickPlaceExecutive:
    """Runs one instruction to completion or to a named failure."""

    def __init__(self, policy: Policy, motion: GatedMotion, camera: FrameSource, safety: SafetyChecker | None = None,
                 config: ExecutiveConfig | None = None, estop: EStop | None = None,
                 on_step: Callable[[StepRecord], None] | None = None, operator: Operator | None = None,
                 shared: SharedAutonomyConfig | None = None) -> None:
        """motion: the safety gate. safety / estop default to the gate's own checker and e-stop (the
        checker judges the grounded task poses; the e-stop ends the run with reason estop). operator:
        shared autonomy (executive/shared_autonomy.py): offered control before every policy action."""
        self.policy = policy
        self.motion = motion
        self.camera = camera
        self.safety = safety or getattr(motion, "checker", None) or SafetyChecker()
        self.config = config or ExecutiveConfig()
        self.estop = estop or getattr(motion, "estop", None) or EStop()
        self.on_step = on_step
        self._cancel = False
        self._pick_only = self.config.pick_only
        self._targets_checked = False
        self._dry_run = 0  # commands the gate validated and did not send (real robot not armed)
        self.phase = TaskPhase.APPROACH
        self.operator = operator
        self.shared = shared or SharedAutonomyConfig()
        self.shared_log = SharedAutonomyLog()
        self._released = False  # the gripper opened while holding (the operator placed the object)
        self._operator_grasp = False  # the operator closed the gripper on an object
        self._pacer = Pacer(self.shared.control_period_s, False)

    def cancel(self) -> None:
        """Request the end of the run and stop the motion in progress (from any thread)."""
        self._cancel = True
        self.motion.stop()

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
            raise _Abort(step.failure or FailureReason.POLICY_ERROR, step.error)
        return step

    def _check_task_poses(self, step: PolicyStep) -> None:
        """Once, when the policy first grounds the object: every pose the task will visit (the
        policy's task poses, else the grounded object and place points) must lie in the workspace,
        so a place target outside it is refused before the arm moves, not mid-carry."""
        if self._targets_checked or step.target is None:
            return
        self._targets_checked = True
        poses = step.task_poses
        points = [(name, np.asarray(poses[name], float)[:3, 3]) for name in _CHECKED_TASK_POSES if poses.get(name) is not None]
        if not points:
            points = [("object", step.target.point_base)]
            if step.place is not None:
                points.append(("place point", step.place.point_base))
        for name, xyz in points:
            try:
                self.safety.check_position(xyz, f"{name} position")
            except SafetyViolation as exc:
                raise _Abort(FailureReason.SAFETY_REFUSED, f"task refused before moving: {exc}") from exc

    def _check_grasp_room(self, step: PolicyStep, obs: Observation) -> None:
        """Refuse the descent when no grasp can hold the object (wider than the open gripper at every yaw the
        planner may take), or when the open fingers, at the yaw the gripper has now, would come down on another
        object: a learned policy was never shown objects that big, nor a crowded row, and keeps its usual yaw."""
        if not self.config.check_finger_room or step.target is None or not step.marks:
            return
        target = next((m for m in step.marks if m.id == step.target.mark_id), None)
        if target is None or target.top_center_base is None:
            return
        try:
            plan_mark_grasp(target, obs.base_from_camera, self.config.gripper)
        except ObjectTooWideError as exc:
            raise _Abort(FailureReason.NO_GRASP, f"descend refused before moving: {exc}") from exc
        except GraspError:
            pass   # too few points for the planner: the policy's own judgement stands
        top = np.asarray(target.top_center_base, float)
        grasp_z = grasp_height(float(top[2]), target.base_height_m, self.config.gripper)
        yaw = float(np.arctan2(obs.tcp_pose_base[1, 0], obs.tcp_pose_base[0, 0]))
        others = [(m.describe(), transform_points(obs.base_from_camera, m.points_cam))
                  for m in step.marks if m.id != target.id and len(m.points_cam)]
        hit = fingers_hit(top[:2], yaw, grasp_z, others, self.config.gripper)
        if hit is not None:
            raise _Abort(FailureReason.NO_GRASP, f"descend refused before moving: at the gripper's yaw "
                                                 f"({np.degrees(yaw):.0f} deg) the open fingers would come down on {hit}")

    def _outcome(self, outcome: MotionResult, what: str) -> None:
        """Carry on after a motion that succeeded or was dry-run; otherwise end with its reason."""
        if outcome.status == MotionStatus.DRY_RUN:
            self._dry_run += 1
            return
        if outcome.ok:
            return
        reason = _BY_CAUSE.get(outcome.cause) or _BY_STATUS.get(outcome.status, FailureReason.MOTION_FAILED)
        if reason == FailureReason.MOTION_FAILED and self._cancel:
            reason = FailureReason.CANCELLED
        raise _Abort(reason, f"{what}: {outcome.message or outcome.status.value}")

    def _execute(self, step: PolicyStep, phase: TaskPhase) -> None:
        self._check_interrupts()
        self._outcome(self.motion.move_by_delta(step.action, self.config.speed_scale), phase.value)

    def _gripper(self, command: GripperCommand) -> None:
        self._check_interrupts()
        self._outcome(self.motion.gripper(command), f"gripper {command.name.lower()}")

    def _go_to_observe_pose(self) -> None:
        target = self.config.observe_pose()
        if target is None:
            return
        current = self.motion.current_pose()
        if np.linalg.norm(current[:3, 3] - target[:3, 3]) <= self.config.observe_tolerance_m:
            return
        self._check_interrupts()
        self._outcome(self.motion.move_to_pose(target, self.config.speed_scale), "observe pose")

    # -- phases -----------------------------------------------------------------------------
    def _run_move_phase(self, instruction: str, phase: TaskPhase, result: PickPlaceResult,
                        first_needs_frame: bool) -> None:
        for i in range(self.config.max_steps_per_phase):
            self._check_interrupts()
            obs = self._observe(instruction, phase, with_frame=first_needs_frame and i == 0)
            step = self._policy_step(obs, result, result.steps)
            result.steps += 1
            self._check_task_poses(step)
            self._offer_control(instruction, obs, step, result)
            if step.phase_done:
                return
            if phase == TaskPhase.DESCEND and i == 0:   # the policy, not an operator, is about to descend
                self._check_grasp_room(step, obs)
            self._execute(step, phase)
        raise _Abort(FailureReason.TIMEOUT, f"{phase.value}: goal not reached in {self.config.max_steps_per_phase} steps")

    def _run_phase(self, instruction: str, phase: TaskPhase, result: PickPlaceResult) -> None:
        cfg = self.config
        if phase in _MOVE_PHASES:
            if phase == TaskPhase.APPROACH:
                self._go_to_observe_pose()
                self._gripper(GripperCommand.OPEN)
            self._run_move_phase(instruction, phase, result, first_needs_frame=phase == TaskPhase.APPROACH)
            return
        if phase in (TaskPhase.CLOSE, TaskPhase.RELEASE) and self.operator is not None:
            self._offer_control(instruction, self._observe(instruction, phase, with_frame=False), None, result)
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
        if self._dry_run:
            return  # nothing moved: the frames cannot show contact, a grasp or a lift
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
            # after an operator's grasp the policy's view of "the object" may be another one: the width decides
            lift = step.lift
            if cfg.require_lift_evidence and not self._operator_grasp and lift is not None and not lift.object_left_table:
                raise _Abort(FailureReason.LIFT_FAILED, f"object still on the table "
                             f"({lift.table_visible_fraction:.0%} of its pixels show the table)")

    def _stop_motion(self) -> None:
        try:
            self.motion.stop()
        except Exception:  # noqa: BLE001 - the run is ending anyway; a failing stop must not escape run()
            log.exception("motion.stop() failed")

    def run(self, instruction: str, pick_only: bool | None = None) -> PickPlaceResult:
        """Execute one instruction; never raises. Bad input is refused before any motion, and nothing
        moves before the policy has parsed the instruction. pick_only: end holding the object
        (None: the config's setting)."""
        t0 = time.perf_counter()
        result = PickPlaceResult(False, FailureReason.NONE)
        self._cancel = False
        self._targets_checked = False
        self._dry_run = 0
        try:
            if not isinstance(instruction, str) or not instruction.strip():
                result.reason, result.message = FailureReason.BAD_INPUT, "empty instruction"
                return result
            if pick_only is not None and not isinstance(pick_only, bool):
                result.reason, result.message = FailureReason.BAD_INPUT, f"pick_only must be a bool, got {pick_only!r}"
                return result
            self._pick_only = self.config.pick_only if pick_only is None else pick_only
            sequence = PICK_ONLY_SEQUENCE if self._pick_only else PHASE_SEQUENCE
            reset_shadow = getattr(self.motion, "reset_shadow", None)
            if reset_shadow is not None:
                reset_shadow()  # a dry run of an earlier goal left a shadow arm behind: start from the real one
            self.policy.reset(instruction)
            self.shared_log = SharedAutonomyLog()
            self._released = self._operator_grasp = False
            if self.operator is not None:
                self.operator.reset(instruction)
                self._pacer = Pacer(self.shared.control_period_s, self.operator.realtime)
            index = 0
            while index < len(sequence):
                phase = sequence[index]
                if self._pick_only and phase not in PICK_ONLY_SEQUENCE:
                    break
                self.phase = result.phase_reached = phase
                log.info("phase %s", phase.value)
                try:
                    self._run_phase(instruction, phase, result)
                except _Resume as resume:
                    if resume.phase == TaskPhase.APPROACH:  # empty hands: ground again from a fresh frame
                        self.policy.reset(instruction)
                        self._targets_checked = False
                    index = sequence.index(resume.phase) if resume.phase in sequence else len(sequence)
                    continue
                index += 1
            self.phase = result.phase_reached = TaskPhase.DONE
            if self._dry_run:
                result.reason = FailureReason.DRY_RUN
                result.message = (f"dry run: {self._dry_run} commands validated and not sent "
                                  "(the robot is not armed); physical checks skipped")
            else:
                result.succeeded = True
        except _Abort as abort:
            result.reason, result.message = abort.reason, abort.message
            log.warning("pick-place ended in %s: %s", abort.reason.value, abort.message)
            self._stop_motion()
        except GroundingError as exc:
            result.reason, result.message = FailureReason.GROUNDING_FAILED, str(exc)
            log.warning("pick-place could not ground the instruction: %s", exc)
            self._stop_motion()
        except SpatialBotError as exc:
            result.reason, result.message = FailureReason.BAD_INPUT, str(exc)
            log.warning("pick-place refused bad input: %s", exc)
            self._stop_motion()
        except PlanningFailed as exc:  # the robot's state could not be read (no joint states, no driver)
            result.reason = _BY_CAUSE.get(exc.result.cause) or _BY_STATUS.get(exc.result.status, FailureReason.MOTION_FAILED)
            result.message = exc.result.message
            log.warning("pick-place: robot state unavailable: %s", exc.result.message)
            self._stop_motion()
        except Exception as exc:  # noqa: BLE001 - run() reports, never raises: a bug must still stop the arm
            result.reason, result.message = FailureReason.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}"
            log.exception("pick-place internal error")
            self._stop_motion()
        finally:
            result.wall_s = time.perf_counter() - t0
            result.interventions = self.shared_log.count
            result.operator_label = self.shared_log.label
        return result

    # -- shared autonomy ----------------------------------------------------------------------
    def _view(self, phase: TaskPhase, obs: Observation, proposal: PolicyStep | None, in_control: bool) -> OperatorView:
        closed = self.motion.gripper_state().closed
        return OperatorView(phase, obs.tcp_pose_base, obs.gripper_width_m, closed, proposal, in_control)

    def _offer_control(self, instruction: str, obs: Observation, proposal: PolicyStep | None,
                       result: PickPlaceResult) -> None:
        """Before a policy action: the operator takes over if they want to (and may still)."""
        op = self.operator
        if op is None or self.shared_log.count >= self.shared.max_interventions:
            return
        if op.realtime:
            self._pacer.wait()  # a person watches the policy at the control rate, not at simulation speed
        if not op.wants_control(self._view(self.phase, obs, proposal, False), self.camera.now_s()):
            return
        self._operator_segment(instruction, result)

    def _operator_segment(self, instruction: str, result: PickPlaceResult) -> None:
        """The operator steers until they hand back; every command passes the same gate. Raises
        _Resume with the phase the state calls for, or _Abort when the operator ends the episode."""
        op = self.operator
        assert op is not None
        phase = self.phase
        record = Intervention(phase)
        self.shared_log.interventions.append(record)
        self.shared_log.control = Control.OPERATOR
        log.info("operator %s takes over in %s", op.name, phase.value)
        pacer = Pacer(self.shared.control_period_s, op.realtime)
        try:
            for _ in range(self.shared.max_operator_steps):
                self._check_interrupts()
                obs = self._observe(instruction, phase, with_frame=False)
                proposal = self._proposal(obs)
                now = self.camera.now_s()
                cmd = op.command(self._view(phase, obs, proposal, True), now)
                label = labelled(cmd.events)
                if label != EpisodeLabel.NONE:
                    self.shared_log.label = label
                    raise _Abort(FailureReason.CANCELLED, f"operator ended the episode: {label.value}")
                if TeleopEvent.HAND_BACK in cmd.events:
                    break
                change = gripper_change(cmd, self.motion.gripper_state().closed)
                if change is not None:
                    executed = EEAction(gripper=change)
                    if change == GripperCommand.OPEN and self._holding():
                        self._released = True
                    self._emit(phase, result, proposal, obs, executed)
                    self._gripper(change)
                    if change == GripperCommand.CLOSE and self._holding():
                        self._operator_grasp = True  # the policy's plan may be of another object
                else:
                    executed = operator_action(cmd, obs.tcp_pose_base, now, self.shared)
                    self._emit(phase, result, proposal, obs, executed)
                    if not executed.is_zero_motion:
                        self._execute_action(executed, phase)
                record.steps += 1
                pacer.wait()
            else:
                raise _Abort(FailureReason.TIMEOUT, f"operator did not hand back within {self.shared.max_operator_steps} steps")
        finally:
            self.shared_log.control = Control.POLICY
        pick_only = self._pick_only
        record.resumed_at = resume_phase(self._holding(), self._released, pick_only)
        log.info("operator hands back after %d steps; the policy resumes at %s", record.steps, record.resumed_at.value)
        raise _Resume(record.resumed_at)

    def _holding(self) -> bool:
        state = self.motion.gripper_state()
        return bool(state.closed and state.width_m >= self.config.min_held_width_m)

    def _proposal(self, obs: Observation) -> PolicyStep | None:
        """What the policy would do now (recorded beside the operator's action); None if it cannot say."""
        try:
            step = self.policy.step(obs)
        except Exception:  # noqa: BLE001 - a proposal is only recorded, it never moves the arm
            log.debug("no policy proposal during the intervention", exc_info=True)
            return None
        return step if step.ok else None

    def _emit(self, phase: TaskPhase, result: PickPlaceResult, proposal: PolicyStep | None, obs: Observation,
              executed: EEAction) -> None:
        if self.on_step is not None:
            self.on_step(StepRecord(phase, result.steps, proposal or PolicyStep(EEAction()), obs.tcp_pose_base,
                                    obs.frame, executed=executed, control=Control.OPERATOR))
        result.steps += 1

    def _execute_action(self, action: EEAction, phase: TaskPhase) -> None:
        self._check_interrupts()
        self._outcome(self.motion.move_by_delta(action, self.config.speed_scale), f"operator in {phase.value}")


class _Resume(Exception):
    """The operator handed back: continue the sequence at this phase."""

    def __init__(self, phase: TaskPhase) -> None:
        super().__init__(phase.value)
        self.phase = phase


class _Abort(Exception):
    def __init__(self, reason: FailureReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
