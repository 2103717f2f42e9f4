"""6-DoF end-effector deltas: from the current TCP pose toward a target, clipped per step.

Convention (base frame): p_next = p_now + t; R_next = R(rotvec) @ R_now.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from spatialbot_ros.core.actions import EEAction, GripperCommand


@dataclass(frozen=True)
class StepLimits:
    max_translation_m: float = 0.05
    max_rotation_rad: float = 0.35

    def __post_init__(self) -> None:
        if not (self.max_translation_m > 0 and self.max_rotation_rad > 0):
            raise ValueError("step limits must be positive")


def pose_error(current: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """(translation distance m, rotation angle rad) from current to target."""
    dt = float(np.linalg.norm(target[:3, 3] - current[:3, 3]))
    dr = float(np.linalg.norm(Rotation.from_matrix(target[:3, :3] @ current[:3, :3].T).as_rotvec()))
    return dt, dr


def converged(current: np.ndarray, target: np.ndarray, tol_m: float = 0.004, tol_rad: float = 0.03) -> bool:
    dt, dr = pose_error(current, target)
    return dt <= tol_m and dr <= tol_rad


def clip_delta(translation: np.ndarray, rotvec: np.ndarray, limits: StepLimits) -> tuple[np.ndarray, np.ndarray]:
    """Scale each part down (direction kept) to the per-step limit, in float64 so a delta at the
    limit never exceeds it by a rounding error."""
    t = np.asarray(translation, dtype=np.float64)
    r = np.asarray(rotvec, dtype=np.float64)
    n = float(np.linalg.norm(t))
    if n > limits.max_translation_m:
        t = t * (limits.max_translation_m / n) * (1.0 - 1e-9)
    a = float(np.linalg.norm(r))
    if a > limits.max_rotation_rad:
        r = r * (limits.max_rotation_rad / a) * (1.0 - 1e-9)
    return t, r


def compute_ee_delta(current: np.ndarray, target: np.ndarray, limits: StepLimits,
                     gripper: GripperCommand = GripperCommand.HOLD) -> EEAction:
    """Delta toward target, each part scaled down (direction kept) to the per-step limit."""
    t = target[:3, 3] - current[:3, 3]
    r = Rotation.from_matrix(target[:3, :3] @ current[:3, :3].T).as_rotvec()
    t, r = clip_delta(t, r, limits)
    return EEAction(t, r, gripper)


def apply_ee_action(current: np.ndarray, action: EEAction) -> np.ndarray:
    out = np.eye(4)
    out[:3, :3] = Rotation.from_rotvec(action.delta_rotvec).as_matrix() @ current[:3, :3]
    out[:3, 3] = current[:3, 3] + action.delta_translation_m
    return out
