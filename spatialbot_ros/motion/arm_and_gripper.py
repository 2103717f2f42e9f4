"""One MotionBackend from an arm backend and a gripper backend: a real cell drives the UR arm and
the Robotiq gripper through different drivers, while the executive and SafeMotion see one robot."""

from __future__ import annotations

import logging

import numpy as np

from spatialbot_ros.core.actions import GripperCommand
from spatialbot_ros.motion.base import GripperState, JointPlan, MotionBackend, MotionResult
from spatialbot_ros.motion.gripper import GripperBackend

log = logging.getLogger(__name__)


class ArmWithGripper:
    """Arm calls go to the arm, gripper calls to the gripper; stop() stops both."""

    def __init__(self, arm: MotionBackend, gripper: GripperBackend) -> None:
        self.arm = arm
        self.gripper_backend = gripper
        self.name = f"{arm.name}+{gripper.name}"

    def current_joints(self) -> np.ndarray:
        return self.arm.current_joints()

    def current_pose(self) -> np.ndarray:
        return self.arm.current_pose()

    def plan_joints(self, q: np.ndarray, speed_scale: float) -> JointPlan:
        return self.arm.plan_joints(q, speed_scale)

    def plan_pose(self, base_from_tcp: np.ndarray, speed_scale: float) -> JointPlan:
        return self.arm.plan_pose(base_from_tcp, speed_scale)

    def plan_linear(self, base_from_tcp: np.ndarray, speed_scale: float) -> JointPlan:
        return self.arm.plan_linear(base_from_tcp, speed_scale)

    def execute(self, plan: JointPlan) -> MotionResult:
        return self.arm.execute(plan)

    def gripper(self, command: GripperCommand, force_n: float | None = None) -> MotionResult:
        return self.gripper_backend.command(command, force_n)

    def gripper_state(self) -> GripperState:
        return self.gripper_backend.state()

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
