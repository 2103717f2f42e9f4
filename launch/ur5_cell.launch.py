"""Real UR5 cell: ur_robot_driver + realsense2_camera + (optionally) MoveIt + our nodes.
pick_place sends trajectories to the controller's topic interface; names and extrinsics come
from config/pick_place.yaml and config/spatial_policy.yaml (write the extrinsics with the
hand-eye helper, see docs/real_cell.md)."""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription, SetEnvironmentVariable
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def generate_launch_description() -> LaunchDescription:
    config = os.path.join(get_package_share_directory("spatialbot_ros"), "config")
    ur_launch = os.path.join(get_package_share_directory("ur_robot_driver"), "launch", "ur_control.launch.py")
    rs_launch = os.path.join(get_package_share_directory("realsense2_camera"), "launch", "rs_launch.py")
    moveit_launch = os.path.join(get_package_share_directory("ur_moveit_config"), "launch", "ur_moveit.launch.py")
    args = [
        DeclareLaunchArgument("robot_ip", default_value="192.168.1.102", description="UR controller IP"),
        DeclareLaunchArgument("ur_type", default_value="ur5", description="ur5 or ur5e"),
        DeclareLaunchArgument("use_mock_hardware", default_value="true", description="ros2_control mock hardware"),
        DeclareLaunchArgument("camera_serial", default_value="", description="RealSense serial number"),
        DeclareLaunchArgument("use_moveit", default_value="false", description="also start MoveIt (move_group)"),
        DeclareLaunchArgument("policy", default_value="geometric", description="policy backend"),
    ]
    return LaunchDescription(args + [
        SetEnvironmentVariable("FASTDDS_BUILTIN_TRANSPORTS", "LARGE_DATA?max_msg_size=2MB&sockets_size=16MB"),  # = DDS_TRANSPORTS
        IncludeLaunchDescription(PythonLaunchDescriptionSource(ur_launch), launch_arguments={
            "ur_type": LaunchConfiguration("ur_type"), "robot_ip": LaunchConfiguration("robot_ip"),
            "use_mock_hardware": LaunchConfiguration("use_mock_hardware"),
            "initial_joint_controller": "joint_trajectory_controller"}.items()),
        IncludeLaunchDescription(PythonLaunchDescriptionSource(rs_launch), launch_arguments={
            "serial_no": LaunchConfiguration("camera_serial"), "align_depth.enable": "true",
            "rgb_camera.color_format": "RGB8"}.items()),
        IncludeLaunchDescription(PythonLaunchDescriptionSource(moveit_launch), condition=IfCondition(
            LaunchConfiguration("use_moveit")), launch_arguments={"ur_type": LaunchConfiguration("ur_type")}.items()),
        Node(package="spatialbot_ros", executable="spatial_policy", name="spatial_policy", output="screen",
             parameters=[os.path.join(config, "spatial_policy.yaml")]),
        Node(package="spatialbot_ros", executable="pick_place", name="pick_place", output="screen",
             parameters=[os.path.join(config, "pick_place.yaml"), {"ur_type": LaunchConfiguration("ur_type")}]),
    ])
