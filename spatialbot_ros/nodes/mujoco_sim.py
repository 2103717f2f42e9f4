"""mujoco_sim: the simulated cell as a camera + robot on ROS. Publishes colour, aligned depth and
camera info exactly as realsense2_camera does, and the joint states, at a fixed rate."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Float64, String
from std_srvs.srv import SetBool
from trajectory_msgs.msg import JointTrajectory

from spatialbot_ros.core.ur_kinematics import UR_JOINT_NAMES
from spatialbot_ros.nodes.conversions import rgbd_to_msgs
from spatialbot_ros.nodes.runner import run_node
from spatialbot_ros.sim.cell import CellConfig, Ur5Cell
from spatialbot_ros.sim.scene import default_scene_path, load_scene
from spatialbot_ros.sim.trajectory_follower import TrajectoryFollower

PARAMS = {
    "scene_file": ("", "scene YAML/JSON; empty = the package's scenes/default.yaml"),
    "camera_rate_hz": (10.0, "rendering rate of the simulated camera"),
    "color_topic": ("/camera/camera/color/image_raw", "colour image topic (rgb8)"),
    "depth_topic": ("/camera/camera/aligned_depth_to_color/image_raw", "depth aligned to colour (16UC1, mm)"),
    "info_topic": ("/camera/camera/color/camera_info", "colour camera info"),
    "joint_states_topic": ("/joint_states", "arm and finger joint states"),
    "trajectory_topic": ("/joint_trajectory_controller/joint_trajectory", "JointTrajectory commands (JTC topic interface)"),
    "gripper_topic": ("/gripper/opening_command", "std_msgs/Float64 gripper opening, m"),
    "physics_rate_hz": (100.0, "physics and joint state rate; physics follows wall time"),
    "ground_truth_topic": ("/sim/ground_truth", "JSON object poses for scoring (never used for acting)"),
    "camera_enabled_service": ("/sim/set_camera_enabled", "std_srvs/SetBool: stop/start the camera (fault injection)"),
}
MAX_TRAJECTORY_POINTS = 10_000
JOINT_LIMIT_RAD = 2 * math.pi + 1e-6   # UR joints: +-2 pi


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
        self._pub_truth = self.create_publisher(String, p["ground_truth_topic"], 10)
        self.create_subscription(JointTrajectory, p["trajectory_topic"], self._on_trajectory, 10)
        self.create_subscription(Float64, p["gripper_topic"], self._on_gripper, 10)
        self.create_service(SetBool, p["camera_enabled_service"], self._on_camera_enabled)
        self.camera_enabled = True
        self._follower = TrajectoryFollower()
        self._last_tick = time.monotonic()
        self.create_timer(1.0 / rate, self.publish_frame)
        self.create_timer(1.0 / float(p["physics_rate_hz"]), self._physics_tick)

    def _on_trajectory(self, msg: JointTrajectory) -> None:
        """A malformed trajectory is refused with one log line; the arm keeps its current target."""
        try:
            names = list(msg.joint_names)
            if len(set(names)) != len(names):
                raise ValueError("joint names repeat")
            if len(msg.points) > MAX_TRAJECTORY_POINTS:
                raise ValueError(f"{len(msg.points)} points; at most {MAX_TRAJECTORY_POINTS}")
            order = [names.index(j) for j in UR_JOINT_NAMES]
            positions = [[float(pt.positions[i]) for i in order] for pt in msg.points]
            if any(not (math.isfinite(q) and abs(q) <= JOINT_LIMIT_RAD) for row in positions for q in row):
                raise ValueError(f"positions must be finite and within +-{JOINT_LIMIT_RAD:.2f} rad")
            times = [pt.time_from_start.sec + pt.time_from_start.nanosec * 1e-9 for pt in msg.points]
            if not all(math.isfinite(v) for pt in positions for v in pt):
                raise ValueError("trajectory contains NaN or inf positions")
            self._follower.start(self.cell.joint_positions(), positions, times, time.monotonic())
        except (ValueError, IndexError) as exc:
            self.get_logger().error(f"trajectory refused: {str(exc)[:200]}", throttle_duration_sec=1.0)

    def _on_gripper(self, msg: Float64) -> None:
        if not math.isfinite(msg.data):
            self.get_logger().error(f"gripper command refused: opening {msg.data} is not finite",
                                    throttle_duration_sec=1.0)
            return
        self.cell.command_gripper(msg.data)  # clipped to the gripper's range

    def _on_gripper(self, msg: Float64) -> None:
        try:
            self.cell.command_gripper(msg.data)
        except ValueError as exc:  # the cell refuses NaN / inf: log it, keep simulating
            self.get_logger().error(f"gripper command refused: {exc}")

    def _on_camera_enabled(self, request: SetBool.Request, response: SetBool.Response) -> SetBool.Response:
        self.camera_enabled = bool(request.data)
        response.success, response.message = True, f"camera {'on' if self.camera_enabled else 'off'}"
        return response

    def _physics_tick(self) -> None:
        now = time.monotonic()
        dt = min(now - self._last_tick, 0.05)
        self._last_tick = now
        target = self._follower.target(now)
        if target is not None:
            self.cell.command_joints(target)
        self.cell.step_seconds(dt)
        js = JointState(name=list(UR_JOINT_NAMES) + ["left_finger_joint", "right_finger_joint"])
        js.header.stamp = self.get_clock().now().to_msg()
        js.position = [float(v) for v in self.cell.joint_positions()] + [self.cell.gripper_opening() / 2] * 2
        self._pub_joints.publish(js)

    def publish_frame(self) -> None:
        truth = {n: self.cell.object_pose(n)[:3, 3].round(4).tolist() for n in self.cell.object_names}
        self._pub_truth.publish(String(data=json.dumps(truth)))
        if not self.camera_enabled:
            return
        stamp = self.get_clock().now().to_msg()
        color, depth, info = rgbd_to_msgs(self.cell.render_rgbd(), stamp)
        self._pub_color.publish(color)
        self._pub_depth.publish(depth)
        self._pub_info.publish(info)


def main(args: list[str] | None = None) -> None:
    run_node(MujocoSimNode, args)


if __name__ == "__main__":
    main()
