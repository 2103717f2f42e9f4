"""Motion backend registry: one line per backend, imported only when chosen."""

from __future__ import annotations

import importlib
from typing import Any

MOTION_BACKENDS: dict[str, str] = {
    "mujoco": "spatialbot_ros.motion.mujoco_backend:MujocoMotionBackend",
    "moveit_py": "spatialbot_ros.motion.moveit_py_backend:MoveItPyBackend",
    "move_group": "spatialbot_ros.motion.move_group_backend:MoveGroupBackend",
    "joint_trajectory": "spatialbot_ros.motion.joint_trajectory:JointTrajectoryBackend",
    "ur_rtde": "spatialbot_ros.motion.ur_rtde_backend:UrRtdeBackend",
}
REAL_HARDWARE = {"moveit_py", "move_group", "joint_trajectory", "ur_rtde"}


def make_motion_backend(name: str, **params: Any) -> Any:
    """Construct a backend; missing optional packages raise MotionBackendUnavailable naming them."""
    try:
        target = MOTION_BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown motion backend '{name}'; available: {', '.join(MOTION_BACKENDS)}") from None
    module_name, cls_name = target.split(":")
    return getattr(importlib.import_module(module_name), cls_name)(**params)
