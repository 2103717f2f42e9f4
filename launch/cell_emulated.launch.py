"""The real-cell graph against the UR driver emulator: ur_driver_emulator (MuJoCo behind the UR
driver's, the Robotiq driver's and realsense-ros's interfaces) replaces ur_control.launch.py and
rs_launch.py; spatial_policy and pick_place run with the same parameter files as on the real cell,
so the emulated cell is in dry-run until armed, exactly as the real one.
`spatialbot-ros up cell-emulated` starts the same graph without `launch`."""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable, Shutdown
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

ARGUMENTS = [
    ("scene_file", "", "scene YAML for the emulated cell (default: scenes/default.yaml)"),
    ("policy", "geometric", "policy backend"),
    ("calibration_file", "", "calibration YAML (optional here: the emulator's camera pose is the default)"),
    ("launch_rviz", "false", "start RViz with config/spatialbot.rviz"),
]


def _nodes(context: object) -> list:
    value = {name: LaunchConfiguration(name).perform(context) for name, _, _ in ARGUMENTS}  # type: ignore[arg-type]
    config = FindPackageShare("spatialbot_ros").perform(context) + "/config"  # type: ignore[arg-type]
    calibration = [value["calibration_file"]] if value["calibration_file"] else []
    policy = {"policy": value["policy"]}
    return [
        Node(package="spatialbot_ros", executable="ur_driver_emulator", name="ur_driver_emulator", output="screen",
             parameters=[f"{config}/ur_driver_emulator.yaml", {"scene_file": value["scene_file"]}], on_exit=Shutdown()),
        Node(package="spatialbot_ros", executable="spatial_policy", name="spatial_policy", output="screen",
             parameters=[f"{config}/spatial_policy.yaml", *calibration, policy], on_exit=Shutdown()),
        Node(package="spatialbot_ros", executable="pick_place", name="pick_place", output="screen",
             parameters=[f"{config}/pick_place.yaml", *calibration, policy], on_exit=Shutdown()),
        Node(package="rviz2", executable="rviz2", name="rviz2", output="log",
             arguments=["-d", f"{config}/spatialbot.rviz"], condition=IfCondition(value["launch_rviz"])),
    ]


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=text) for name, default, text in ARGUMENTS]
        + [*[SetEnvironmentVariable(var, PathJoinSubstitution([FindPackageShare("spatialbot_ros"), "config", "fastdds.xml"]))
             for var in ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")],  # = spatialbot_ros.dds_env
           OpaqueFunction(function=_nodes)])
