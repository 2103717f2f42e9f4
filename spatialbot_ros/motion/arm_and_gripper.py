"""One MotionBackend from an arm backend and a gripper backend: a real cell drives the UR arm and
the Robotiq gripper through different drivers, while the executive and SafeMotion see one robot."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from spatialbot_ros.core.actions import GripperCommand
from spatialbot_ros.core.ur_kinematics import DHParams
from spatialbot_ros.motion.base import GripperState, JointPlan, MotionBackend, MotionResult
from spatialbot_ros.motion.gripper import GripperBackend

log = logging.getLogger(__name__)


class ArmWithGripper:
    """Arm calls go to the arm, gripper calls to the gripper; stop() stops both. The arm's own
    plan_* and execute are exposed as they are, so SafeMotion sees their real signatures (a
    q_start keyword lets it plan dry runs from its shadow state)."""

    def __init__(self, arm: MotionBackend, gripper: GripperBackend) -> None:
        self.arm = arm
        self.gripper_backend = gripper
        self.name = f"{arm.name}+{gripper.name}"
        self.plan_joints: Callable[..., JointPlan] = arm.plan_joints
        self.plan_pose: Callable[..., JointPlan] = arm.plan_pose
        self.plan_linear: Callable[..., JointPlan] = arm.plan_linear
        self.execute: Callable[[JointPlan], MotionResult] = arm.execute

    @property
    def tcp_offset_m(self) -> float | None:
        return getattr(self.arm, "tcp_offset_m", None)

    @property
    def dh(self) -> DHParams | None:
        return getattr(self.arm, "dh", None)

    def current_joints(self) -> np.ndarray:
        return self.arm.current_joints()

    def current_pose(self) -> np.ndarray:
        return self.arm.current_pose()

    def gripper(self, command: GripperCommand, force_n: float | None = None) -> MotionResult:
        return self.gripper_backend.command(command, force_n)

    def gripper_state(self) -> GripperState:
        return self.gripper_backend.state()

    def set_interlock(self, engaged: Callable[[], bool]) -> None:
        """Passed on to the arm when it takes one (JointTrajectoryBackend)."""
        setter = getattr(self.arm, "set_interlock", None)
        if callable(setter):
            setter(engaged)

    def stop(self) -> None:
        """Both are stopped even if one of them raises (the first error is raised afterwards)."""
        errors: list[Exception] = []
        for part in (self.arm.stop, self.gripper_backend.stop):
            try:
                part()
            except Exception as exc:  # noqa: BLE001 - stopping the other part matters more
                log.error("stop failed in %s: %s", getattr(part, "__self__", part), exc)
                errors.append(exc)
        if errors:
            raise errors[0]
