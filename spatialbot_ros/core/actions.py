"""The policy's action: a 6-DoF end-effector delta in the robot base frame plus a gripper command."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np


class GripperCommand(enum.IntEnum):
    """What the gripper should do this step (Magma/OpenVLA's 7th action dimension, discretised)."""

    OPEN = 0
    CLOSE = 1
    HOLD = 2  # keep the current state


@dataclass(frozen=True)
class EEAction:
    """Translation (m) and rotation vector (rad, axis*angle) of the TCP, both in the base frame,
    applied as base_from_tcp_next = [R(rotvec) @ R_now, p_now + translation]."""

    delta_translation_m: np.ndarray = field(default_factory=lambda: np.zeros(3))
    delta_rotvec: np.ndarray = field(default_factory=lambda: np.zeros(3))
    gripper: GripperCommand = GripperCommand.HOLD

    def as_vector(self) -> np.ndarray:
        """7-D form (dx, dy, dz, rx, ry, rz, gripper) with gripper 1 = close, 0 = open, 0.5 hold."""
        g = {GripperCommand.OPEN: 0.0, GripperCommand.CLOSE: 1.0, GripperCommand.HOLD: 0.5}[self.gripper]
        return np.concatenate([self.delta_translation_m, self.delta_rotvec, [g]]).astype(float)

    @property
    def is_zero_motion(self) -> bool:
        return bool(np.allclose(self.delta_translation_m, 0) and np.allclose(self.delta_rotvec, 0))
