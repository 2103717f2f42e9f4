"""What the safety gate, the planners and the previews need of an arm, whichever it is: its joint
names and limits, forward kinematics to tool0 (the flange frame the TCP offset is measured along)
and the IK solution nearest to given joints.

Two arms implement it: the UR5 / UR5e (core.ur_kinematics.DHParams, closed-form) and the Franka
Panda that ManiSkill3 ships (core.panda_kinematics, numerical IK)."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from spatialbot_ros.core.panda_kinematics import PANDA
from spatialbot_ros.core.ur_kinematics import UR5_DH, UR5E_DH


class ArmKinematics(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def joint_names(self) -> tuple[str, ...]: ...

    @property
    def joint_limits(self) -> np.ndarray:
        """(n_joints, 2) lower, upper in rad."""
        ...

    @property
    def n_joints(self) -> int: ...

    def fk(self, q: np.ndarray) -> np.ndarray:
        """base_from_tool0 for joints q."""
        ...

    def ik_nearest(self, base_from_tool0: np.ndarray, q_current: np.ndarray) -> np.ndarray | None:
        """Joints inside the limits reaching base_from_tool0, nearest to q_current; None if none."""
        ...


ARMS: dict[str, ArmKinematics] = {"ur5": UR5_DH, "ur5e": UR5E_DH, "panda": PANDA}


def arm_kinematics(model: str) -> ArmKinematics:
    """The arm by model name: ur5, ur5e or panda."""
    try:
        return ARMS[str(model).lower()]
    except KeyError:
        raise ValueError(f"unknown arm model '{model}'; supported: {', '.join(ARMS)}") from None
