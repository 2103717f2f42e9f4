"""The cell's fixed obstacles (table, camera mount) as plain data, and their conversion to
moveit_msgs CollisionObjects so MoveIt plans around them.

The obstacles are boxes in our robot `base` frame (the UR DH base, the frame every pose in
spatialbot_ros uses); MoveIt plans in ur_description's `base_link` (base turned by pi about z), so
the conversion moves them into the planning frame here, with motion/frames.py's one transform.
Defaults match the simulated cell (ur5_mjcf table, camera_extrinsics of config/pick_place.yaml);
a real cell sets them from parameters (`from_params`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spatialbot_ros.core.transforms import pose_from_xyz_quat, pose_to_xyz_quat
from spatialbot_ros.motion.frames import tool0_goal


@dataclass(frozen=True)
class BoxObstacle:
    """A box of size_m (x, y, z full lengths) centred at center_m, rotated by quat_xyzw, in `base`."""

    name: str
    size_m: tuple[float, float, float]
    center_m: tuple[float, float, float]
    quat_xyzw: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)

    def __post_init__(self) -> None:
        size, center, quat = (np.asarray(v, float) for v in (self.size_m, self.center_m, self.quat_xyzw))
        if not self.name:
            raise ValueError("planning scene: an obstacle needs a name")
        if size.shape != (3,) or not np.all(np.isfinite(size)) or np.any(size <= 0):
            raise ValueError(f"planning scene: {self.name}.size_m must be 3 positive numbers, got {self.size_m}")
        if center.shape != (3,) or not np.all(np.isfinite(center)):
            raise ValueError(f"planning scene: {self.name}.center_m must be 3 finite numbers, got {self.center_m}")
        if quat.shape != (4,) or not np.all(np.isfinite(quat)) or abs(np.linalg.norm(quat) - 1.0) > 1e-3:
            raise ValueError(f"planning scene: {self.name}.quat_xyzw must be a unit quaternion, got {self.quat_xyzw}")

    def base_from_box(self) -> np.ndarray:
        return pose_from_xyz_quat(self.center_m, self.quat_xyzw)


def _default_table() -> BoxObstacle:
    # the simulated table: 1.4 x 1.8 m, 4 cm thick, top surface at z = 0 in base
    return BoxObstacle("table", (1.4, 1.8, 0.04), (0.35, 0.0, -0.02))


def _default_camera_mount() -> BoxObstacle:
    # a column from the table plane up to just above the camera (camera_extrinsics.xyz 1.15, 0, 0.62)
    return BoxObstacle("camera_mount", (0.08, 0.12, 0.70), (1.15, 0.0, 0.35))


@dataclass(frozen=True)
class CellObstacles:
    """What MoveIt must avoid besides the robot itself."""

    obstacles: tuple[BoxObstacle, ...] = field(default_factory=lambda: (_default_table(), _default_camera_mount()))

    def __post_init__(self) -> None:
        names = [o.name for o in self.obstacles]
        if len(set(names)) != len(names):
            raise ValueError(f"planning scene: obstacle names must be unique, got {names}")

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> CellObstacles:
        """From flat parameters `<name>.size_m`, `<name>.center_m` and optional `<name>.quat_xyzw`
        (ROS parameter style, e.g. table.size_m: [1.4, 1.8, 0.04]); names are the prefixes given.
        An empty mapping keeps the default table and camera mount."""
        if not params:
            return cls()
        grouped: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, sep, attr = key.rpartition(".")
            if not sep or attr not in ("size_m", "center_m", "quat_xyzw"):
                raise ValueError(f"planning scene: unknown parameter {key!r}; expected <name>.size_m, "
                                 "<name>.center_m or <name>.quat_xyzw")
            grouped.setdefault(name, {})[attr] = tuple(float(v) for v in value)
        obstacles = []
        for name, attrs in grouped.items():
            missing = {"size_m", "center_m"} - set(attrs)
            if missing:
                raise ValueError(f"planning scene: {name} lacks {', '.join(sorted(missing))}")
            obstacles.append(BoxObstacle(name, **attrs))
        return cls(tuple(obstacles))


def in_planning_frame(base_from_x: np.ndarray, planning_frame: str) -> np.ndarray:
    """planning_frame_from_x (base_link or base), through frames.py's one base -> base_link transform."""
    return tool0_goal(base_from_x, 0.0, planning_frame)


def collision_objects(cell: CellObstacles, planning_frame: str = "base_link") -> list[Any]:
    """moveit_msgs/CollisionObject (ADD, one box primitive each) in the planning frame."""
    from geometry_msgs.msg import Pose
    from moveit_msgs.msg import CollisionObject
    from shape_msgs.msg import SolidPrimitive

    out = []
    for obstacle in cell.obstacles:
        xyz, q = pose_to_xyz_quat(in_planning_frame(obstacle.base_from_box(), planning_frame))
        pose = Pose()
        pose.position.x, pose.position.y, pose.position.z = (float(v) for v in xyz)
        pose.orientation.x, pose.orientation.y, pose.orientation.z, pose.orientation.w = (float(v) for v in q)
        obj = CollisionObject()
        obj.header.frame_id = planning_frame
        obj.id = obstacle.name
        obj.pose = pose  # the object's frame; the primitive sits at its origin
        obj.primitives = [SolidPrimitive(type=SolidPrimitive.BOX, dimensions=[float(v) for v in obstacle.size_m])]
        obj.primitive_poses = [Pose()]
        obj.primitive_poses[0].orientation.w = 1.0
        obj.operation = CollisionObject.ADD
        out.append(obj)
    return out


def planning_scene_diff(cell: CellObstacles, planning_frame: str = "base_link") -> Any:
    """moveit_msgs/PlanningScene diff adding the cell's obstacles to the world (for ApplyPlanningScene)."""
    from moveit_msgs.msg import PlanningScene

    scene = PlanningScene()
    scene.is_diff = True
    scene.robot_state.is_diff = True
    scene.world.collision_objects = collision_objects(cell, planning_frame)
    return scene
