"""The one interface every motion backend implements. Poses are base_from_tcp 4x4 matrices in the
robot base frame; the TCP is the grasp centre between the fingertips (tool0 offset by tcp_offset)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from spatialbot_ros.core.actions import GripperCommand


class MotionStatus(enum.Enum):
    SUCCEEDED = "succeeded"
    REFUSED = "refused"            # a safety check rejected the command; nothing was sent
    UNREACHABLE = "unreachable"    # no IK solution / planning failed
    ABORTED = "aborted"            # stopped mid-way (e-stop, watchdog, cancel, controller error)
    DRY_RUN = "dry_run"            # real-hardware backend not armed: command validated, not sent


@dataclass(frozen=True)
class MotionResult:
    status: MotionStatus
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status in (MotionStatus.SUCCEEDED, MotionStatus.DRY_RUN)


@dataclass(frozen=True)
class GripperState:
    width_m: float
    closed: bool


class MotionBackend(Protocol):
    name: str

    def current_joints(self) -> np.ndarray: ...

    def current_pose(self) -> np.ndarray:
        """base_from_tcp now."""
        ...

    def move_to_pose(self, base_from_tcp: np.ndarray, speed_scale: float = 1.0) -> MotionResult: ...

    def move_linear(self, base_from_tcp: np.ndarray, speed_scale: float = 1.0) -> MotionResult:
        """Straight-line TCP motion (Cartesian path / Pilz LIN / moveL)."""
        ...

    def move_joints(self, q: np.ndarray, speed_scale: float = 1.0) -> MotionResult: ...

    def gripper(self, command: GripperCommand, force_n: float | None = None) -> MotionResult: ...

    def gripper_state(self) -> GripperState: ...

    def stop(self) -> None: ...


class MotionBackendUnavailable(RuntimeError):
    """A backend's optional packages are missing; the message names what to install."""
