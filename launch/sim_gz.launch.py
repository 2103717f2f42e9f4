"""The cell in Gazebo (gz sim Harmonic): ur_simulation_gz's ur_sim_control.launch.py with our cell
description (urdf/ur5_gz_cell.urdf.xacro: UR arm, table, fixed RGB-D camera, a parallel gripper),
ros_gz_bridge (config/gz_bridge.yaml: the camera onto the realsense-ros topic names, /clock), and
our unchanged spatial_policy and pick_place nodes on sim time.

Needs ROS 2 Jazzy with ur_simulation_gz, ros_gz_bridge and gz_ros2_control installed.
Simulation, so no arming (real_hardware false); the same safety gate and limits as on the real cell.
The gz hardware has no speed scaling or robot-program state, so pick_place is told not to wait for
them, and it drives ur_simulation_gz's joint_trajectory_controller. The gripper controller entry
(GRIPPER_CONTROLLER below) is added to ur_simulation_gz's controllers file, written at launch to
one file under $ROS_HOME (default ~/.ros: spatialbot_ros/gz_controllers.yaml, rewritten by every
launch, so none pile up), and spawned here: the upstream launch only spawns the arm's controllers.
Any of our nodes exiting shuts the whole launch down."""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from launch import LaunchDescription
from launch.actions import (
    DeclareLaunchArgument,
    IncludeLaunchDescription,
    OpaqueFunction,
    SetEnvironmentVariable,
    Shutdown,
)
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

ARGUMENTS = [
    ("ur_type", "ur5", "ur5 or ur5e"),
    ("controller", "joint_trajectory_controller",
     "trajectory controller to start and send to (ur_simulation_gz's default; the scaled one needs the driver's speed scaling)"),
    ("gazebo_gui", "true", "start the Gazebo GUI (false: server only)"),
    ("world_file", "empty.sdf", "Gazebo world (absolute path or a name from the gz worlds collection)"),
    ("policy", "geometric", "policy backend: geometric, onnx, spatialbot, transformers, openai, magma"),
    ("model_dir", "", "model directory for the onnx / VLM backends (empty: shipped / configured)"),
    ("backend_config", "", "per-backend options file (config/policy_backends.yaml)"),
]
UPSTREAM_CONTROLLERS = ("config", "ur_controllers.yaml")  # in ur_simulation_gz's share
# the Robotiq-like gripper of urdf/ur5_gz_cell.urdf.xacro behind the action pick_place's robotiq_action backend uses
GRIPPER_CONTROLLER = "robotiq_gripper_controller"
GRIPPER_CONTROLLER_TYPE = "position_controllers/GripperActionController"  # control_msgs/GripperCommand on ~/gripper_cmd
GRIPPER_CONTROLLER_PARAMS = {
    "joint": "robotiq_85_left_knuckle_joint", "action_monitor_rate": 20.0, "goal_tolerance": 0.01,
    "max_effort": 60.0, "allow_stalling": True, "stall_velocity_threshold": 0.001, "stall_timeout": 0.5,
}
SIM_TIME = {"use_sim_time": True}


def controllers_with_gripper(upstream: dict) -> dict:
    """ur_simulation_gz's controllers config plus the gripper controller entry (upstream left as is)."""
    out = {key: dict(value) for key, value in upstream.items()}
    manager = dict(out.get("controller_manager", {}).get("ros__parameters", {}))
    manager[GRIPPER_CONTROLLER] = {"type": GRIPPER_CONTROLLER_TYPE}
    out["controller_manager"] = {"ros__parameters": manager}
    out[GRIPPER_CONTROLLER] = {"ros__parameters": dict(GRIPPER_CONTROLLER_PARAMS)}
    return out


def controllers_path(environ: dict) -> Path:
    """One file per user, rewritten by every launch (a temporary file per launch would pile up)."""
    return Path(environ.get("ROS_HOME") or Path(environ.get("HOME", "/tmp")) / ".ros") / "spatialbot_ros" / "gz_controllers.yaml"


def _write_controllers(gz_share: str) -> str:
    upstream = yaml.safe_load(Path(gz_share, *UPSTREAM_CONTROLLERS).read_text())
    path = controllers_path(dict(os.environ))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")  # written whole, then renamed: a reader never sees half
    tmp.write_text(yaml.safe_dump(controllers_with_gripper(upstream), sort_keys=False))
    tmp.replace(path)
    return str(path)


def _our_nodes(context: object) -> list:
    value = {name: LaunchConfiguration(name).perform(context) for name, _, _ in ARGUMENTS}  # type: ignore[arg-type]
    share = FindPackageShare("spatialbot_ros").perform(context)  # type: ignore[arg-type]
    gz_share = FindPackageShare("ur_simulation_gz").perform(context)  # type: ignore[arg-type]
    config = f"{share}/config"
    controller = value["controller"]
    policy = {"policy": value["policy"], "model_dir": value["model_dir"], "backend_config": value["backend_config"]}
    pick_place_overrides = {
        **policy, "ur_type": value["ur_type"], "real_hardware": False, "motion_backend": "joint_trajectory",
        "controller_name": controller, "speed_scaling_topic": "", "program_running_topic": "",
        "gripper_backend": "robotiq_action", "gripper_action_name": f"/{GRIPPER_CONTROLLER}/gripper_cmd",
        "gripper_action_type": "gripper_command", "require_calibration": False,
    }
    return [
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(PathJoinSubstitution([FindPackageShare("ur_simulation_gz"), "launch",
                                                                "ur_sim_control.launch.py"])),
            launch_arguments={"ur_type": value["ur_type"],
                              "description_file": f"{share}/urdf/ur5_gz_cell.urdf.xacro",
                              "controllers_file": _write_controllers(gz_share),
                              "initial_joint_controller": controller, "launch_rviz": "false",
                              "gazebo_gui": value["gazebo_gui"], "world_file": value["world_file"]}.items()),
        Node(package="controller_manager", executable="spawner", name="gripper_controller_spawner", output="screen",
             arguments=[GRIPPER_CONTROLLER, "-c", "/controller_manager", "--controller-manager-timeout", "120"]),
        Node(package="ros_gz_bridge", executable="parameter_bridge", name="gz_bridge", output="screen",
             parameters=[{"config_file": f"{config}/gz_bridge.yaml", **SIM_TIME}]),
        Node(package="spatialbot_ros", executable="spatial_policy", name="spatial_policy", output="screen",
             parameters=[f"{config}/spatial_policy.yaml", policy, SIM_TIME], on_exit=Shutdown()),
        Node(package="spatialbot_ros", executable="pick_place", name="pick_place", output="screen",
             parameters=[f"{config}/pick_place.yaml", pick_place_overrides, SIM_TIME], on_exit=Shutdown()),
    ]


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=text) for name, default, text in ARGUMENTS]
        + [*[SetEnvironmentVariable(var, PathJoinSubstitution([FindPackageShare("spatialbot_ros"), "config", "fastdds.xml"]))
             for var in ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")],  # = spatialbot_ros.dds_env
           OpaqueFunction(function=_our_nodes)])
