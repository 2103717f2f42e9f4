"""SafeMotion: the safety layer in front of every motion backend, on by default.

Every command is validated before it is forwarded: finite numbers, workspace box, joint limits,
per-step delta and speed limits, latched e-stop, watchdog. Real-hardware backends stay in dry-run
(commands validated and logged, nothing sent) until `armed=True` is set explicitly.
"""

from __future__ import annotations

import logging

import numpy as np

from spatialbot_ros.core.actions import EEAction, GripperCommand
from spatialbot_ros.core.ee_delta import apply_ee_action
from spatialbot_ros.core.safety import EStop, SafetyChecker, SafetyViolation, Watchdog
from spatialbot_ros.motion.base import GripperState, MotionBackend, MotionResult, MotionStatus

log = logging.getLogger(__name__)


class SafeMotion:
    """Wraps any MotionBackend; refusals return MotionResult(REFUSED) and nothing reaches it."""

    def __init__(self, backend: MotionBackend, checker: SafetyChecker | None = None, estop: EStop | None = None,
                 armed: bool = False, real_hardware: bool = True, watchdog: Watchdog | None = None) -> None:
        self.backend = backend
        self.checker = checker or SafetyChecker()
        self.estop = estop or EStop()
        self._armed = False
        self.armed = armed
        self.real_hardware = real_hardware
        self.watchdog = watchdog
        self.name = f"safe({backend.name})"
        self.sent: list[str] = []  # what reached the backend, for logs and tests

    @property
    def armed(self) -> bool:
        return self._armed

    @armed.setter
    def armed(self, value: bool) -> None:
        """Only a real bool arms real hardware: 'false', 1 or None from a config file must not."""
        if not isinstance(value, bool):
            raise TypeError(f"armed must be True or False, got {value!r} ({type(value).__name__})")
        self._armed = value

    # -- state passes through -------------------------------------------------------------
    def current_joints(self) -> np.ndarray:
        return self.backend.current_joints()

    def current_pose(self) -> np.ndarray:
        return self.backend.current_pose()

    def gripper_state(self) -> GripperState:
        return self.backend.gripper_state()

    def stop(self) -> None:
        self.backend.stop()  # stopping is always allowed

    # -- gating ---------------------------------------------------------------------------
    def _gate(self) -> MotionResult | None:
        try:
            self.estop.check()
            if self.watchdog is not None:
                self.watchdog.check()
        except SafetyViolation as exc:
            return MotionResult(MotionStatus.REFUSED, str(exc))
        return None

    def _dry_run(self, what: str) -> MotionResult | None:
        if self.real_hardware and not self.armed:
            log.info("dry-run (not armed): %s validated, not sent", what)
            return MotionResult(MotionStatus.DRY_RUN, f"not armed: {what} validated, not sent")
        return None

    def _forward(self, what: str, call: object) -> MotionResult:
        refusal = self._gate()
        if refusal is not None:
            return refusal
        dry = self._dry_run(what)
        if dry is not None:
            return dry
        self.sent.append(what)
        return call()  # type: ignore[operator]

    def move_to_pose(self, base_from_tcp: np.ndarray, speed_scale: float = 1.0) -> MotionResult:
        try:
            self.checker.check_pose(base_from_tcp)
        except SafetyViolation as exc:
            return MotionResult(MotionStatus.REFUSED, str(exc))
        return self._forward("move_to_pose", lambda: self.backend.move_to_pose(base_from_tcp, speed_scale))

    def move_linear(self, base_from_tcp: np.ndarray, speed_scale: float = 1.0) -> MotionResult:
        try:
            self.checker.check_pose(base_from_tcp)
        except SafetyViolation as exc:
            return MotionResult(MotionStatus.REFUSED, str(exc))
        return self._forward("move_linear", lambda: self.backend.move_linear(base_from_tcp, speed_scale))

    def move_by_delta(self, action: EEAction, speed_scale: float = 1.0) -> MotionResult:
        """The policy's 6-DoF delta: checked against the per-step limits, then as a pose."""
        try:
            self.checker.check_delta(action)
            target = apply_ee_action(self.backend.current_pose(), action)
            self.checker.check_pose(target)
        except SafetyViolation as exc:
            return MotionResult(MotionStatus.REFUSED, str(exc))
        return self._forward("move_by_delta", lambda: self.backend.move_linear(target, speed_scale))

    def move_joints(self, q: np.ndarray, speed_scale: float = 1.0) -> MotionResult:
        try:
            self.checker.check_joint_target(np.asarray(q, float))
        except SafetyViolation as exc:
            return MotionResult(MotionStatus.REFUSED, str(exc))
        return self._forward("move_joints", lambda: self.backend.move_joints(q, speed_scale))

    def gripper(self, command: GripperCommand, force_n: float | None = None) -> MotionResult:
        if force_n is not None and not (np.isfinite(force_n) and 0 < force_n <= 235.0):
            return MotionResult(MotionStatus.REFUSED, f"not_finite: gripper force {force_n} N outside (0, 235]")
        return self._forward(f"gripper {command.name}", lambda: self.backend.gripper(command, force_n))
