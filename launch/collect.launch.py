"""Teleop-assisted collection (docs/teleop.md): the policy runs the goals, an operator takes over
from geometry_msgs/Twist on /cmd_vel or sensor_msgs/Joy on /joy (deadman button) and hands back;
every goal is an episode of a LeRobot v3 dataset in out_dir.

  cell:=sim   the MuJoCo cell: mujoco_sim, spatial_policy and teleop_collect (pick_place with teleop on)
  cell:=real  the UR5 cell through ur5_cell.launch.py (dry-run until armed, e-stop, calibration), teleop on
Goals as usual: PickPlaceCommander, the /pick_place action or /pick_place/goal."""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import (
    DeclareLaunchArgument,
    IncludeLaunchDescription,
    OpaqueFunction,
    SetEnvironmentVariable,
    Shutdown,
)
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

ARGUMENTS = [
    ("cell", "sim", "sim (MuJoCo cell) or real (ur5_cell.launch.py)"),
    ("out_dir", "collect", "dataset directory (created; an existing one is appended to)"),
    ("rosbag", "false", "also one rosbag2 (MCAP) bag per goal"),
    ("policy", "geometric", "policy backend: geometric, onnx, ..."),
    ("model_dir", "", "model directory for the onnx / VLM backends"),
    ("robot_ip", "192.168.1.102", "real: UR controller IP"),
    ("use_mock_hardware", "false", "real: ros2_control mock hardware instead of the robot"),
    ("calibration_file", "", "real: hand-eye calibration from `spatialbot-ros calibrate`"),
]


def _nodes(context: object) -> list:
    value = {name: LaunchConfiguration(name).perform(context) for name, _, _ in ARGUMENTS}  # type: ignore[arg-type]
    share = get_package_share_directory("spatialbot_ros")
    if value["cell"] == "real":
        return [IncludeLaunchDescription(
            PythonLaunchDescriptionSource(os.path.join(share, "launch", "ur5_cell.launch.py")),
            launch_arguments={"robot_ip": value["robot_ip"], "use_mock_hardware": value["use_mock_hardware"],
                              "calibration_file": value["calibration_file"], "policy": value["policy"],
                              "model_dir": value["model_dir"], "teleop": "true", "collect_dir": value["out_dir"],
                              "collect_rosbag": value["rosbag"]}.items())]
    if value["cell"] != "sim":
        raise ValueError(f"cell must be sim or real, got {value['cell']!r}")
    config = os.path.join(share, "config")
    policy = {"policy": value["policy"], "model_dir": value["model_dir"]}
    teleop = {**policy, "teleop.enabled": True, "collect.dir": value["out_dir"],
              "collect.rosbag": value["rosbag"].lower() == "true"}
    return [
        *[SetEnvironmentVariable(var, os.path.join(config, "fastdds.xml"))
          for var in ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")],  # = spatialbot_ros.dds_env
        Node(package="spatialbot_ros", executable="mujoco_sim", name="mujoco_sim", output="screen",
             parameters=[os.path.join(config, "mujoco_sim.yaml")], on_exit=Shutdown()),
        Node(package="spatialbot_ros", executable="spatial_policy", name="spatial_policy", output="screen",
             parameters=[os.path.join(config, "spatial_policy.yaml"), policy], on_exit=Shutdown()),
        Node(package="spatialbot_ros", executable="teleop_collect", name="teleop_collect", output="screen",
             parameters=[os.path.join(config, "pick_place_sim.yaml"), os.path.join(config, "teleop_collect.yaml"),
                         teleop], on_exit=Shutdown()),
    ]


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=text) for name, default, text in ARGUMENTS]
        + [OpaqueFunction(function=_nodes)])
