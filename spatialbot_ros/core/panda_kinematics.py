"""Kinematics of the Franka Emika Panda (the arm ManiSkill3's tabletop tasks ship), from Franka's
published modified-DH (Craig) table: forward kinematics to the hand and a numerical IK.

Frames: `base` is panda_link0; `tool0` here is panda_hand (the flange turned -pi/4 about z), whose
y axis is the fingers' closing direction and z the approach, as our TCP convention wants; the TCP
(ManiSkill's panda_hand_tcp, between the finger pads) is 0.1034 m along its z. Seven joints, so
IK is damped least squares from the current joints, which picks the solution nearest to them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

PANDA_JOINT_NAMES: tuple[str, ...] = tuple(f"panda_joint{i}" for i in range(1, 8))
PANDA_FINGER_JOINT_NAMES: tuple[str, ...] = ("panda_finger_joint1", "panda_finger_joint2")
# (lower, upper) rad, Franka's datasheet limits (franka_description)
PANDA_JOINT_LIMITS: np.ndarray = np.array([
    [-2.8973, 2.8973], [-1.7628, 1.7628], [-2.8973, 2.8973], [-3.0718, -0.0698],
    [-2.8973, 2.8973], [-0.0175, 3.7525], [-2.8973, 2.8973]])
# modified DH rows (a_{i-1}, d_i, alpha_{i-1}) for joints 1-7, then the flange (fixed)
_MDH = ((0.0, 0.333, 0.0), (0.0, 0.0, -math.pi / 2), (0.0, 0.316, math.pi / 2), (0.0825, 0.0, math.pi / 2),
        (-0.0825, 0.384, -math.pi / 2), (0.0, 0.0, math.pi / 2), (0.088, 0.0, math.pi / 2))
FLANGE_D_M = 0.107
HAND_YAW_RAD = -math.pi / 4      # panda_hand relative to the flange (panda_hand_joint)
PANDA_TCP_OFFSET_M = 0.1034      # panda_hand -> panda_hand_tcp along z


def _mdh(a: float, d: float, alpha: float, theta: float) -> np.ndarray:
    """Modified DH link transform Rx(alpha) Tx(a) Rz(theta) Tz(d)."""
    ct, st, ca, sa = math.cos(theta), math.sin(theta), math.cos(alpha), math.sin(alpha)
    return np.array([[ct, -st, 0.0, a],
                     [st * ca, ct * ca, -sa, -d * sa],
                     [st * sa, ct * sa, ca, d * ca],
                     [0.0, 0.0, 0.0, 1.0]])


_HAND = np.array([[math.cos(HAND_YAW_RAD), -math.sin(HAND_YAW_RAD), 0.0, 0.0],
                  [math.sin(HAND_YAW_RAD), math.cos(HAND_YAW_RAD), 0.0, 0.0],
                  [0.0, 0.0, 1.0, FLANGE_D_M],
                  [0.0, 0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class PandaKinematics:
    """The Panda as core.kinematics.ArmKinematics: fk to panda_hand, nearest-solution IK."""

    name: str = "panda"
    ik_iterations: int = 200
    ik_tolerance_m: float = 1e-5
    ik_tolerance_rad: float = 1e-4
    ik_damping: float = 0.05

    @property
    def joint_names(self) -> tuple[str, ...]:
        return PANDA_JOINT_NAMES

    @property
    def joint_limits(self) -> np.ndarray:
        return PANDA_JOINT_LIMITS

    @property
    def n_joints(self) -> int:
        return 7

    def _frames(self, q: np.ndarray) -> list[np.ndarray]:
        """base_from_joint_i (whose z is joint i's axis) for i = 1..7, then base_from_hand."""
        q = np.asarray(q, dtype=float)
        if q.shape != (7,) or not np.all(np.isfinite(q)):
            raise ValueError(f"Panda joint vector must be 7 finite values, got {q}")
        out, T = [], np.eye(4)
        for (a, d, alpha), theta in zip(_MDH, q, strict=True):
            T = T @ _mdh(a, d, alpha, float(theta))
            out.append(T)
        out.append(T @ _HAND)
        return out

    def fk(self, q: np.ndarray) -> np.ndarray:
        """base_from_tool0 (panda_hand)."""
        return self._frames(q)[-1]

    def jacobian(self, q: np.ndarray, tool0_from_point: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(base_from_point, 6x7 geometric Jacobian [linear; angular] of that point, base frame)."""
        frames = self._frames(q)
        T = frames[-1] if tool0_from_point is None else frames[-1] @ tool0_from_point
        p = T[:3, 3]
        J = np.zeros((6, 7))
        for i, F in enumerate(frames[:7]):
            z = F[:3, 2]
            J[:3, i] = np.cross(z, p - F[:3, 3])
            J[3:, i] = z
        return T, J

    def ik_nearest(self, base_from_tool0: np.ndarray, q_current: np.ndarray) -> np.ndarray | None:
        """Joints inside the limits that put panda_hand at base_from_tool0, found by damped least
        squares from q_current (so the solution nearest to it along the way); None if none found."""
        target = np.asarray(base_from_tool0, dtype=float)
        if target.shape != (4, 4) or not np.all(np.isfinite(target)):
            raise ValueError("ik: target must be a finite 4x4 transform")
        q = np.clip(np.asarray(q_current, dtype=float).copy(), PANDA_JOINT_LIMITS[:, 0], PANDA_JOINT_LIMITS[:, 1])
        if q.shape != (7,):
            raise ValueError(f"q_current must be 7 values, got {q.shape}")
        lam2 = self.ik_damping ** 2
        for _ in range(self.ik_iterations):
            T, J = self.jacobian(q)
            dp = target[:3, 3] - T[:3, 3]
            dr = Rotation.from_matrix(target[:3, :3] @ T[:3, :3].T).as_rotvec()
            if np.linalg.norm(dp) < self.ik_tolerance_m and np.linalg.norm(dr) < self.ik_tolerance_rad:
                return q
            err = np.concatenate([np.clip(dp, -0.1, 0.1), np.clip(dr, -0.3, 0.3)])
            dq = J.T @ np.linalg.solve(J @ J.T + lam2 * np.eye(6), err)
            q = np.clip(q + dq, PANDA_JOINT_LIMITS[:, 0], PANDA_JOINT_LIMITS[:, 1])
        return None


PANDA = PandaKinematics()
