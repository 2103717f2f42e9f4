"""Simulated cell: mujoco_sim (camera, joints, trajectory execution), spatial_policy (per-frame
grounding for RViz) and pick_place (goals on /pick_place/goal). Parameters from config/*.yaml."""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable, Shutdown
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def generate_launch_description() -> LaunchDescription:
    config = os.path.join(get_package_share_directory("spatialbot_ros"), "config")
    return LaunchDescription([
        DeclareLaunchArgument("scene_file", default_value="", description="scene YAML (default: scenes/default.yaml)"),
        *[SetEnvironmentVariable(var, os.path.join(config, "fastdds.xml"))
          for var in ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")],  # = spatialbot_ros.dds_env
        Node(package="spatialbot_ros", executable="mujoco_sim", name="mujoco_sim", output="screen",
             parameters=[os.path.join(config, "mujoco_sim.yaml"), {"scene_file": LaunchConfiguration("scene_file")}], on_exit=Shutdown()),
        Node(package="spatialbot_ros", executable="spatial_policy", name="spatial_policy", output="screen",
             parameters=[os.path.join(config, "spatial_policy.yaml")], on_exit=Shutdown()),
        Node(package="spatialbot_ros", executable="pick_place", name="pick_place", output="screen",
             parameters=[os.path.join(config, "pick_place_sim.yaml")], on_exit=Shutdown()),
    ])
