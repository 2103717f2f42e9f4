"""Closed-form kinematics of the UR5 / UR5e from their standard DH tables.

Frames: `base` is the DH base frame (z up along the shoulder axis); note that ur_description's
`base_link` is this frame rotated by pi about z. `tool0` is the flange frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

UR_JOINT_NAMES: tuple[str, ...] = (
    "shoulder_pan_joint", "shoulder_lift_joint", "elbow_joint", "wrist_1_joint", "wrist_2_joint", "wrist_3_joint",
)
# (lower, upper) rad: +-2pi on every joint but the elbow (+-pi), as on the real arm.
UR5_JOINT_LIMITS: np.ndarray = np.array([[-2 * math.pi, 2 * math.pi]] * 2 + [[-math.pi, math.pi]]
                                        + [[-2 * math.pi, 2 * math.pi]] * 3)


@dataclass(frozen=True)
class DHParams:
    """A UR arm's DH table; also its core.kinematics.ArmKinematics (closed-form fk and IK)."""

    d1: float
    a2: float
    a3: float
    d4: float
    d5: float
    d6: float

    @property
    def d(self) -> np.ndarray:
        return np.array([self.d1, 0.0, 0.0, self.d4, self.d5, self.d6])

    @property
    def a(self) -> np.ndarray:
        return np.array([0.0, self.a2, self.a3, 0.0, 0.0, 0.0])

    @property
    def alpha(self) -> np.ndarray:
        return np.array([math.pi / 2, 0.0, 0.0, math.pi / 2, -math.pi / 2, 0.0])

    # -- core.kinematics.ArmKinematics ---------------------------------------------------------
    @property
    def name(self) -> str:
        return "ur5e" if self == UR5E_DH else "ur5" if self == UR5_DH else "ur"

    @property
    def joint_names(self) -> tuple[str, ...]:
        return UR_JOINT_NAMES

    @property
    def joint_limits(self) -> np.ndarray:
        return UR5_JOINT_LIMITS

    @property
    def n_joints(self) -> int:
        return 6

    def fk(self, q: np.ndarray) -> np.ndarray:
        return fk(q, self)

    def ik_nearest(self, base_from_tool0: np.ndarray, q_current: np.ndarray) -> np.ndarray | None:
        return ik_nearest(base_from_tool0, q_current, self, UR5_JOINT_LIMITS)


UR5_DH = DHParams(d1=0.089159, a2=-0.425, a3=-0.39225, d4=0.10915, d5=0.09465, d6=0.0823)
UR5E_DH = DHParams(d1=0.1625, a2=-0.425, a3=-0.3922, d4=0.1333, d5=0.0997, d6=0.0996)


def dh_for(ur_type: str) -> DHParams:
    table = {"ur5": UR5_DH, "ur5e": UR5E_DH}
    try:
        return table[ur_type.lower()]
    except KeyError:
        raise ValueError(f"unknown ur_type '{ur_type}'; supported: {', '.join(table)}") from None


def dh_transform(theta: float, d: float, a: float, alpha: float) -> np.ndarray:
    """Standard DH link transform Rz(theta) Tz(d) Tx(a) Rx(alpha)."""
    ct, st, ca, sa = math.cos(theta), math.sin(theta), math.cos(alpha), math.sin(alpha)
    return np.array([[ct, -st * ca, st * sa, a * ct],
                     [st, ct * ca, -ct * sa, a * st],
                     [0.0, sa, ca, d],
                     [0.0, 0.0, 0.0, 1.0]])


def fk_all(q: np.ndarray, dh: DHParams = UR5_DH) -> list[np.ndarray]:
    """base_from_link_i for i = 1..6 (the last is tool0)."""
    q = np.asarray(q, dtype=float)
    if q.shape != (6,) or not np.all(np.isfinite(q)):
        raise ValueError(f"joint vector must be 6 finite values, got {q}")
    out, T = [], np.eye(4)
    for i in range(6):
        T = T @ dh_transform(q[i], dh.d[i], dh.a[i], dh.alpha[i])
        out.append(T.copy())
    return out


def fk(q: np.ndarray, dh: DHParams = UR5_DH) -> np.ndarray:
    """base_from_tool0."""
    return fk_all(q, dh)[-1]


def _wrap(a: np.ndarray | float) -> np.ndarray | float:
    return (np.asarray(a) + math.pi) % (2 * math.pi) - math.pi


def ik(base_from_tool0: np.ndarray, dh: DHParams = UR5_DH) -> np.ndarray:
    """All analytic solutions (k<=8, 6) wrapped to [-pi, pi); empty when unreachable."""
    T = np.asarray(base_from_tool0, dtype=float)
    if T.shape != (4, 4) or not np.all(np.isfinite(T)):
        raise ValueError("ik: target must be a finite 4x4 transform")
    d1, a2, a3, d4, d5, d6 = dh.d1, dh.a2, dh.a3, dh.d4, dh.d5, dh.d6
    alpha = dh.alpha
    p05 = T @ np.array([0.0, 0.0, -d6, 1.0])
    r = math.hypot(p05[0], p05[1])
    if r < abs(d4) - 1e-12:
        return np.zeros((0, 6))
    psi = math.atan2(p05[1], p05[0])
    phi = math.acos(np.clip(d4 / r, -1.0, 1.0))
    sols: list[list[float]] = []
    for t1 in (psi + phi + math.pi / 2, psi - phi + math.pi / 2):
        s1, c1 = math.sin(t1), math.cos(t1)
        c5 = (T[0, 3] * s1 - T[1, 3] * c1 - d4) / d6
        if abs(c5) > 1.0 + 1e-9:
            continue
        acos5 = math.acos(np.clip(c5, -1.0, 1.0))
        for t5 in (acos5, -acos5):
            s5 = math.sin(t5)
            Tinv = np.linalg.inv(T)
            if abs(s5) < 1e-9:
                t6 = 0.0  # wrist singularity: any t6 works; choose 0
            else:
                t6 = math.atan2((-Tinv[1, 0] * s1 + Tinv[1, 1] * c1) / s5, (Tinv[0, 0] * s1 - Tinv[0, 1] * c1) / s5)
            T01 = dh_transform(t1, d1, 0.0, alpha[0])
            T45 = dh_transform(t5, d5, 0.0, alpha[4])
            T56 = dh_transform(t6, d6, 0.0, alpha[5])
            T14 = np.linalg.inv(T01) @ T @ np.linalg.inv(T45 @ T56)
            p13 = T14 @ np.array([0.0, -d4, 0.0, 1.0]) - np.array([0.0, 0.0, 0.0, 1.0])
            n13 = float(np.linalg.norm(p13[:3]))
            c3 = (n13 ** 2 - a2 ** 2 - a3 ** 2) / (2 * a2 * a3)
            if abs(c3) > 1.0 + 1e-9:
                continue
            acos3 = math.acos(np.clip(c3, -1.0, 1.0))
            for t3 in (acos3, -acos3):
                t2 = -math.atan2(p13[1], -p13[0]) + math.asin(np.clip(a3 * math.sin(t3) / n13, -1.0, 1.0))
                T12 = dh_transform(t2, 0.0, a2, alpha[1])
                T23 = dh_transform(t3, 0.0, a3, alpha[2])
                T34 = np.linalg.inv(T12 @ T23) @ T14
                t4 = math.atan2(T34[1, 0], T34[0, 0])
                sols.append([t1, t2, t3, t4, t5, t6])
    if not sols:
        return np.zeros((0, 6))
    out = np.asarray(_wrap(np.array(sols)))
    # keep only true solutions (guards the clipped acos cases at the workspace boundary)
    keep = [i for i, q in enumerate(out) if np.allclose(fk(q, dh), T, atol=1e-6)]
    return out[keep]


def ik_nearest(base_from_tool0: np.ndarray, q_current: np.ndarray, dh: DHParams = UR5_DH,
               joint_limits: np.ndarray = UR5_JOINT_LIMITS, weights: np.ndarray | None = None) -> np.ndarray | None:
    """The IK solution closest to q_current (2*pi equivalents considered) inside the limits."""
    q_current = np.asarray(q_current, dtype=float)
    if q_current.shape != (6,) or not np.all(np.isfinite(q_current)):
        raise ValueError(f"q_current must be 6 finite values, got {q_current}")
    sols = ik(base_from_tool0, dh)
    if len(sols) == 0:
        return None
    w = np.ones(6) if weights is None else np.asarray(weights, float)
    best, best_cost = None, math.inf
    for q in sols:
        # choose, per joint, the 2*pi shift nearest to the current value
        shifted = q + 2 * math.pi * np.round((q_current - q) / (2 * math.pi))
        for j in range(6):
            lo, hi = joint_limits[j]
            if shifted[j] < lo:
                shifted[j] += 2 * math.pi
            elif shifted[j] > hi:
                shifted[j] -= 2 * math.pi
        if np.any(shifted < joint_limits[:, 0] - 1e-9) or np.any(shifted > joint_limits[:, 1] + 1e-9):
            continue
        cost = float(np.sum(w * (shifted - q_current) ** 2))
        if cost < best_cost:
            best, best_cost = shifted, cost
    return best
