"""maniskill_sim: a ManiSkill3 task as a camera + Panda on ROS. Publishes the task camera's colour,
aligned depth (16UC1 mm) and camera info on the realsense-ros topic names, the Panda's joint states
and TCP pose, and the task's success flag; takes joint trajectories on a joint trajectory
controller's topic interface (the Panda on ManiSkill's pd_joint_pos, following them as ros2_control's
JTC does) and a gripper opening: what pick_place's ros_topics backend sends, as to mujoco_sim.
Runs in the maniskill venv (scripts/setup.sh maniskill)."""

from __future__ import annotations

import math
import time

import numpy as np
from geometry_msgs.msg import PoseStamped
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Bool, Float64
from trajectory_msgs.msg import JointTrajectory

from spatialbot_ros.core.panda_kinematics import PANDA_JOINT_LIMITS
from spatialbot_ros.core.transforms import pose_to_xyz_quat
from spatialbot_ros.nodes.conversions import rgbd_to_msgs
from spatialbot_ros.nodes.runner import run_node
from spatialbot_ros.sim.maniskill_env import (
    PANDA_ARM_JOINTS,
    PANDA_FINGER_JOINTS,
    PANDA_MAX_OPENING_M,
    ManiSkillEnv,
)
from spatialbot_ros.sim.trajectory_follower import TrajectoryFollower

MAX_TRAJECTORY_POINTS = 10_000

PARAMS = {
    "task": ("StackCube-v1", "ManiSkill3 task id (spatialbot_ros.sim.maniskill_env.TASKS)"),
    "seed": (0, "episode seed"),
    "width": (640, "task camera width (px)"),
    "height": (480, "task camera height (px)"),
    "camera_rate_hz": (2.0, "rendering rate of the task camera (a 640x480 render costs ~0.2 s on the CPU)"),
    "color_topic": ("/camera/camera/color/image_raw", "colour image topic (rgb8)"),
    "depth_topic": ("/camera/camera/aligned_depth_to_color/image_raw", "depth aligned to colour (16UC1, mm)"),
    "info_topic": ("/camera/camera/color/camera_info", "colour camera info"),
    "joint_states_topic": ("/joint_states", "Panda arm and finger joint states"),
    "tcp_pose_topic": ("/maniskill/tcp_pose", "TCP pose in the base frame (PoseStamped)"),
    "camera_pose_topic": ("/maniskill/camera_pose", "camera optical frame in the base frame (latched PoseStamped)"),
    "trajectory_topic": ("/joint_trajectory_controller/joint_trajectory",
                         "trajectory_msgs/JointTrajectory of the seven arm joints (JTC topic interface)"),
    "gripper_topic": ("/gripper/opening_command", "std_msgs/Float64 opening, m (>= half the stroke opens)"),
    "success_topic": ("/maniskill/success", "std_msgs/Bool: the task's info['success']"),
    "base_frame": ("base", "frame id of the published poses"),
}
LATCHED = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL, reliability=ReliabilityPolicy.RELIABLE)


class ManiSkillSimNode(Node):
    def __init__(self, **kwargs: object) -> None:
        super().__init__("maniskill_sim", **kwargs)
        for name, (default, text) in PARAMS.items():
            self.declare_parameter(name, default, ParameterDescriptor(description=text))
        p = {name: self.get_parameter(name).value for name in PARAMS}
        rate = float(p["camera_rate_hz"])
        if not 0.1 <= rate <= 30.0:
            raise ValueError(f"parameter camera_rate_hz must be in [0.1, 30], got {rate}")
        self.env = ManiSkillEnv(str(p["task"]), width=int(p["width"]), height=int(p["height"]), max_episode_steps=10**6,
                                control_mode="pd_joint_pos")
        self.env.reset(int(p["seed"]))
        # the first render builds the renderer (~4 s on lavapipe): done before any timer runs, it cannot
        # stall the control loop (and the joint states a client's watchdog waits on) mid-motion
        self.env.capture()
        self._joint_target = self.env.joint_positions()[:7].copy()  # pd_joint_pos: hold where the arm starts
        self._follower = TrajectoryFollower()
        self.base_frame = str(p["base_frame"])
        self._pub_color = self.create_publisher(Image, p["color_topic"], qos_profile_sensor_data)
        self._pub_depth = self.create_publisher(Image, p["depth_topic"], qos_profile_sensor_data)
        self._pub_info = self.create_publisher(CameraInfo, p["info_topic"], qos_profile_sensor_data)
        self._pub_joints = self.create_publisher(JointState, p["joint_states_topic"], 10)
        self._pub_tcp = self.create_publisher(PoseStamped, p["tcp_pose_topic"], 10)
        self._pub_camera_pose = self.create_publisher(PoseStamped, p["camera_pose_topic"], LATCHED)
        self._pub_success = self.create_publisher(Bool, p["success_topic"], 10)
        self.create_subscription(JointTrajectory, p["trajectory_topic"], self._on_trajectory, 10)
        self.create_subscription(Float64, p["gripper_topic"], self._on_gripper, 10)
        self._gripper_open = True
        self._camera_pose_sent = False
        self.create_timer(1.0 / rate, self.publish_frame)
        self.create_timer(self.env.control_dt_s, self._control_tick)

    def _on_trajectory(self, msg: JointTrajectory) -> None:
        """A malformed trajectory is refused with one log line; the arm keeps its current target."""
        try:
            names = list(msg.joint_names)
            if len(set(names)) != len(names):
                raise ValueError("joint names repeat")
            if len(msg.points) > MAX_TRAJECTORY_POINTS:
                raise ValueError(f"{len(msg.points)} points; at most {MAX_TRAJECTORY_POINTS}")
            order = [names.index(j) for j in PANDA_ARM_JOINTS]
            positions = np.array([[float(pt.positions[i]) for i in order] for pt in msg.points], float)
            if not np.all(np.isfinite(positions)):
                raise ValueError("trajectory contains NaN or inf positions")
            if np.any(positions < PANDA_JOINT_LIMITS[:, 0] - 1e-6) or np.any(positions > PANDA_JOINT_LIMITS[:, 1] + 1e-6):
                raise ValueError("positions outside the Panda's joint limits")
            times = [pt.time_from_start.sec + pt.time_from_start.nanosec * 1e-9 for pt in msg.points]
            self._follower.start(self.env.joint_positions()[:7], positions, times, time.monotonic())
        except (ValueError, IndexError) as exc:
            self.get_logger().error(f"trajectory refused: {str(exc)[:200]}", throttle_duration_sec=1.0)

    def _on_gripper(self, msg: Float64) -> None:
        if not math.isfinite(msg.data):
            self.get_logger().error(f"gripper command refused: opening {msg.data} is not finite",
                                    throttle_duration_sec=1.0)
            return
        self._gripper_open = msg.data >= PANDA_MAX_OPENING_M / 2

    def _pose_msg(self, T: np.ndarray) -> PoseStamped:
        msg = PoseStamped()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self.base_frame
        xyz, q = pose_to_xyz_quat(T)
        msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = (float(v) for v in xyz)
        msg.pose.orientation.x, msg.pose.orientation.y, msg.pose.orientation.z, msg.pose.orientation.w = \
            (float(v) for v in q)
        return msg

    def _control_tick(self) -> None:
        """One env step toward the trajectory's target now (none running: hold the last), then the robot's state."""
        target = self._follower.target(time.monotonic())
        if target is not None:
            self._joint_target = target
        out = self.env.step_joints(self._joint_target, self._gripper_open)
        js = JointState(name=list(PANDA_ARM_JOINTS + PANDA_FINGER_JOINTS))
        js.header.stamp = self.get_clock().now().to_msg()
        js.position = [float(v) for v in self.env.joint_positions()]
        self._pub_joints.publish(js)
        self._pub_tcp.publish(self._pose_msg(self.env.tcp_pose_base()))
        self._pub_success.publish(Bool(data=bool(out.success)))

    def publish_frame(self) -> None:
        frame, base_from_camera = self.env.capture()
        if not self._camera_pose_sent:
            self._pub_camera_pose.publish(self._pose_msg(base_from_camera))
            self._camera_pose_sent = True
        color, depth, info = rgbd_to_msgs(frame, self.get_clock().now().to_msg())
        self._pub_color.publish(color)
        self._pub_depth.publish(depth)
        self._pub_info.publish(info)

    def safe_stop(self) -> None:
        self._follower = TrajectoryFollower()  # the arm holds its current target

    def destroy_node(self) -> None:
        self.env.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    run_node(ManiSkillSimNode, args)


if __name__ == "__main__":
    main()
