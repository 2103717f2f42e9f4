"""Simulated cell: mujoco_sim publishes the camera and joints; spatial_policy grounds the
instruction published on /spatialbot/instruction. Parameters come from config/*.yaml."""

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription


def generate_launch_description() -> LaunchDescription:
    config = os.path.join(get_package_share_directory("spatialbot_ros"), "config")
    return LaunchDescription([
        DeclareLaunchArgument("scene_file", default_value="", description="scene YAML (default: scenes/default.yaml)"),
        SetEnvironmentVariable("FASTDDS_BUILTIN_TRANSPORTS", "LARGE_DATA"),
        Node(package="spatialbot_ros", executable="mujoco_sim", name="mujoco_sim", output="screen",
             parameters=[os.path.join(config, "mujoco_sim.yaml"), {"scene_file": LaunchConfiguration("scene_file")}]),
        Node(package="spatialbot_ros", executable="spatial_policy", name="spatial_policy", output="screen",
             parameters=[os.path.join(config, "spatial_policy.yaml")]),
    ])
