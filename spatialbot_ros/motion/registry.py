"""Motion and gripper backends by name: one table each, a backend imported only when chosen.

Parameters come flat (as ROS parameters or a config file give them): those the constructor takes
go to it, the rest fill the backend's config dataclass (`config_type`) when it has one. A missing
optional dependency raises MotionBackendUnavailable naming the package to install."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from typing import Any

from spatialbot_ros.motion.base import MotionBackendUnavailable

MOTION_BACKENDS: dict[str, str] = {
    "mujoco": "spatialbot_ros.sim.mujoco_backend:MujocoMotionBackend",
    "moveit_py": "spatialbot_ros.motion.moveit_py_backend:MoveItPyBackend",
    "move_group": "spatialbot_ros.motion.move_group_backend:MoveGroupBackend",
    "joint_trajectory": "spatialbot_ros.motion.joint_trajectory:JointTrajectoryBackend",
    "ur_rtde": "spatialbot_ros.motion.ur_rtde_backend:UrRtdeBackend",
}
GRIPPER_BACKENDS: dict[str, str] = {
    "robotiq_action": "spatialbot_ros.motion.gripper:RobotiqActionGripper",
    "robotiq_socket": "spatialbot_ros.motion.gripper:RobotiqSocketGripper",
    "none": "spatialbot_ros.motion.gripper:NoGripper",
}
REAL_HARDWARE = {"moveit_py", "move_group", "joint_trajectory", "ur_rtde"}

# module a backend file imports at its top -> what provides it
_INSTALL_HINTS = {
    "mujoco": "pip install mujoco",
    "control_msgs": "apt install ros-$ROS_DISTRO-control-msgs (or scripts/build_interfaces.sh)",
    "moveit_msgs": "apt install ros-$ROS_DISTRO-moveit-msgs",
    "moveit": "apt install ros-$ROS_DISTRO-moveit-py",
    "rtde_control": "pip install ur-rtde",
    "rclpy": "pip install -r requirements/ros.txt (the ros-jazzy-* wheels)",
}


def _load(kind: str, table: dict[str, str], name: str) -> type:
    try:
        target = table[name]
    except KeyError:
        raise ValueError(f"unknown {kind} backend '{name}'; available: {', '.join(table)}") from None
    module_name, cls_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        hint = _INSTALL_HINTS.get(missing, f"install the Python module '{missing}'")
        raise MotionBackendUnavailable(f"{kind} backend '{name}' needs {missing}: {hint}") from exc
    return getattr(module, cls_name)


def _construct(cls: type, params: dict[str, Any]) -> Any:
    """cls(**params), with the parameters the constructor does not take moved into its config."""
    config_type = getattr(cls, "config_type", None)
    if config_type is None or "config" in params:
        return cls(**params)
    taken = set(inspect.signature(cls).parameters)
    direct = {k: v for k, v in params.items() if k in taken}
    rest = {k: v for k, v in params.items() if k not in taken}
    fields = {f.name for f in dataclasses.fields(config_type)}
    unknown = sorted(set(rest) - fields)
    if unknown:
        raise TypeError(f"{cls.__name__}: unknown parameter(s) {', '.join(unknown)}; "
                        f"config fields: {', '.join(sorted(fields))}")
    if "joint_names" in rest:
        rest["joint_names"] = tuple(rest["joint_names"])
    return cls(**direct, config=config_type(**rest))


def make_motion_backend(name: str, **params: Any) -> Any:
    """Construct an arm backend by name ('joint_trajectory' is the real-cell default)."""
    return _construct(_load("motion", MOTION_BACKENDS, name), params)


def make_gripper_backend(name: str, **params: Any) -> Any:
    """Construct a gripper backend by name ('robotiq_action' on a ros2_control cell)."""
    return _construct(_load("gripper", GRIPPER_BACKENDS, name), params)
