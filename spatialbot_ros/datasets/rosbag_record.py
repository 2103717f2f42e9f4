"""rosbag2 (MCAP) recording of a collected episode with the `rosbags` library (no ROS install needed):
the camera topics as realsense2_camera names them (colour rgb8, aligned depth 16UC1 in mm, camera
info), the arm's joint states, the command that was executed as a TwistStamped, and who was in
control. One bag per episode, written under a temporary name and renamed into place when closed,
so a collection killed mid-episode leaves whole bags only; ros2 bag play / info read them."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spatialbot_ros.core.actions import EEAction
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.ur_kinematics import UR_JOINT_NAMES

TOPICS = {
    "color": ("/camera/camera/color/image_raw", "sensor_msgs/msg/Image"),
    "depth": ("/camera/camera/aligned_depth_to_color/image_raw", "sensor_msgs/msg/Image"),
    "info": ("/camera/camera/color/camera_info", "sensor_msgs/msg/CameraInfo"),
    "joints": ("/joint_states", "sensor_msgs/msg/JointState"),
    "command": ("/spatialbot/teleop/command", "geometry_msgs/msg/TwistStamped"),
    "intervention": ("/spatialbot/teleop/intervention", "std_msgs/msg/Bool"),
}
BAGS_DIR = "rosbag"


def bag_path(root: Path, episode_index: int) -> Path:
    return Path(root) / BAGS_DIR / f"episode_{episode_index:06d}"


@dataclass
class EpisodeBag:
    """Buffers one episode's messages; write() puts them in one MCAP bag atomically."""

    control_period_s: float
    messages: list[tuple[str, int, Any]] = field(default_factory=list)
    _store: Any = None

    def __post_init__(self) -> None:
        from rosbags.typesys import Stores, get_typestore

        self._store = get_typestore(Stores.ROS2_JAZZY)

    def _header(self, stamp_ns: int, frame_id: str) -> Any:
        t = self._store.types
        stamp = t["builtin_interfaces/msg/Time"](sec=stamp_ns // 1_000_000_000, nanosec=stamp_ns % 1_000_000_000)
        return t["std_msgs/msg/Header"](stamp=stamp, frame_id=frame_id)

    def _image(self, header: Any, array: np.ndarray, encoding: str) -> Any:
        h, w = array.shape[:2]
        data = np.ascontiguousarray(array).view(np.uint8).reshape(-1)
        return self._store.types["sensor_msgs/msg/Image"](header=header, height=h, width=w, encoding=encoding,
                                                          is_bigendian=0, step=int(data.size // h), data=data)

    def add(self, stamp_s: float, frame: RGBDFrame, joints: np.ndarray, executed: EEAction, engaged: bool) -> None:
        t = self._store.types
        ns = int(round(stamp_s * 1e9))
        hdr = self._header(ns, frame.frame_id)
        k = frame.intrinsics
        info = t["sensor_msgs/msg/CameraInfo"](
            header=hdr, height=k.height, width=k.width, distortion_model="plumb_bob", d=np.zeros(5),
            k=np.array([k.fx, 0, k.cx, 0, k.fy, k.cy, 0, 0, 1], float),
            r=np.eye(3).reshape(-1), p=np.array([k.fx, 0, k.cx, 0, 0, k.fy, k.cy, 0, 0, 0, 1, 0], float),
            binning_x=0, binning_y=0,
            roi=t["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False))
        js = t["sensor_msgs/msg/JointState"](header=self._header(ns, "base"), name=list(UR_JOINT_NAMES),
                                             position=np.asarray(joints, float), velocity=np.zeros(0),
                                             effort=np.zeros(0))
        v = executed.delta_translation_m / self.control_period_s
        w = executed.delta_rotvec / self.control_period_s
        vec = t["geometry_msgs/msg/Vector3"]
        twist = t["geometry_msgs/msg/TwistStamped"](
            header=self._header(ns, "base"),
            twist=t["geometry_msgs/msg/Twist"](linear=vec(x=v[0], y=v[1], z=v[2]), angular=vec(x=w[0], y=w[1], z=w[2])))
        self.messages += [("color", ns, self._image(hdr, frame.color_rgb, "rgb8")),
                          ("depth", ns, self._image(hdr, frame.depth_mm.astype(np.uint16), "16UC1")),
                          ("info", ns, info), ("joints", ns, js), ("command", ns, twist),
                          ("intervention", ns, t["std_msgs/msg/Bool"](data=bool(engaged)))]

    def write(self, path: Path) -> Path:
        from rosbags.rosbag2 import StoragePlugin, Writer

        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        with Writer(tmp, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
            conns = {key: writer.add_connection(topic, msgtype, typestore=self._store)
                     for key, (topic, msgtype) in TOPICS.items()}
            for key, ns, msg in self.messages:
                writer.write(conns[key], ns, self._store.serialize_cdr(msg, TOPICS[key][1]))
        shutil.rmtree(path, ignore_errors=True)
        tmp.rename(path)
        return path


def remove_unfinished_bags(root: Path, episodes: int) -> None:
    """Temporary bags of a killed run, and bags of episodes the dataset never committed."""
    d = Path(root) / BAGS_DIR
    if not d.exists():
        return
    for p in d.iterdir():
        name = p.name
        index = int(name.split("_")[-1]) if name.startswith("episode_") and name.split("_")[-1].isdigit() else None
        if name.startswith(".") or index is None or index >= episodes:
            shutil.rmtree(p, ignore_errors=True)
