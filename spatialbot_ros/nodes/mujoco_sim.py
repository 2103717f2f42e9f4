"""mujoco_sim: the simulated cell as a camera + robot on ROS. Publishes colour, aligned depth and
camera info exactly as realsense2_camera does, and the joint states, at a fixed rate."""

from __future__ import annotations

from pathlib import Path

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, JointState

from spatialbot_ros.core.ur_kinematics import UR_JOINT_NAMES
from spatialbot_ros.nodes.conversions import rgbd_to_msgs
from spatialbot_ros.nodes.runner import run_node
from spatialbot_ros.sim.cell import CellConfig, Ur5Cell
from spatialbot_ros.sim.demo import default_scene_path
from spatialbot_ros.sim.scene import load_scene

PARAMS = {
    "scene_file": ("", "scene YAML/JSON; empty = the package's scenes/default.yaml"),
    "camera_rate_hz": (10.0, "rendering rate of the simulated camera"),
    "color_topic": ("/camera/camera/color/image_raw", "colour image topic (rgb8)"),
    "depth_topic": ("/camera/camera/aligned_depth_to_color/image_raw", "depth aligned to colour (16UC1, mm)"),
    "info_topic": ("/camera/camera/color/camera_info", "colour camera info"),
    "joint_states_topic": ("/joint_states", "arm and finger joint states"),
}


class MujocoSimNode(Node):
    def __init__(self, **kwargs: object) -> None:
        super().__init__("mujoco_sim", **kwargs)
        for name, (default, text) in PARAMS.items():
            self.declare_parameter(name, default, ParameterDescriptor(description=text))
        p = {name: self.get_parameter(name).value for name in PARAMS}
        rate = float(p["camera_rate_hz"])
        if not 0.1 <= rate <= 60.0:
            raise ValueError(f"parameter camera_rate_hz must be in [0.1, 60], got {rate}")
        scene = load_scene(Path(p["scene_file"]) if p["scene_file"] else default_scene_path())
        self.cell = Ur5Cell(scene.objects, CellConfig.from_scene(scene))
        self.cell.reset()
        self.scene = scene
        self._pub_color = self.create_publisher(Image, p["color_topic"], qos_profile_sensor_data)
        self._pub_depth = self.create_publisher(Image, p["depth_topic"], qos_profile_sensor_data)
        self._pub_info = self.create_publisher(CameraInfo, p["info_topic"], qos_profile_sensor_data)
        self._pub_joints = self.create_publisher(JointState, p["joint_states_topic"], 10)
        self.create_timer(1.0 / rate, self.publish_frame)

    def publish_frame(self) -> None:
        stamp = self.get_clock().now().to_msg()
        color, depth, info = rgbd_to_msgs(self.cell.render_rgbd(), stamp)
        self._pub_color.publish(color)
        self._pub_depth.publish(depth)
        self._pub_info.publish(info)
        js = JointState(name=list(UR_JOINT_NAMES) + ["left_finger_joint", "right_finger_joint"])
        js.header.stamp = stamp
        js.position = [float(v) for v in self.cell.joint_positions()] + [self.cell.gripper_opening() / 2] * 2
        self._pub_joints.publish(js)


def main(args: list[str] | None = None) -> None:
    run_node(MujocoSimNode, args)


if __name__ == "__main__":
    main()
