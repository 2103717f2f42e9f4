"""The real UR5 cell: ur_robot_driver + realsense2_camera + (with use_moveit:=true) MoveIt, our
spatial_policy and pick_place, and RViz.

Safe by default: pick_place starts in dry-run (every planned motion validated and published as a
preview on /pick_place/planned_trajectory, nothing sent) until a person arms it with
`ros2 service call /pick_place/arm std_srvs/srv/SetBool "{data: true}"`. On real hardware
(use_mock_hardware:=false, the driver's default) pick_place refuses to start without a hand-eye
calibration_file (spatialbot-ros calibrate). Any of our nodes exiting shuts the whole launch down.
Parameters come from config/pick_place.yaml and config/spatial_policy.yaml; the calibration file
overrides the camera extrinsics in both."""


from launch import LaunchDescription
from launch.actions import (
    DeclareLaunchArgument,
    IncludeLaunchDescription,
    LogInfo,
    OpaqueFunction,
    SetEnvironmentVariable,
    Shutdown,
)
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from spatialbot_ros.core.hand_eye import read_calibration_yaml

MOVEIT_CONTROLLER = "scaled_joint_trajectory_controller"  # ur_moveit_config's default controller
ARGUMENTS = [
    ("robot_ip", "192.168.1.102", "UR controller IP"),
    ("ur_type", "ur5", "ur5 or ur5e"),
    ("use_mock_hardware", "false", "ros2_control mock hardware instead of the robot (the driver's default: false)"),
    ("controller", "scaled_joint_trajectory_controller",
     "trajectory controller to start and send to (only the scaled one honours the pendant's speed slider, pause and safeguard stop)"),
    ("camera_serial", "", "RealSense serial number (empty: the first camera found)"),
    ("use_moveit", "false", "also start MoveIt (ur_moveit_config); then motion_backend:=move_group or moveit_py"),
    ("motion_backend", "joint_trajectory", "joint_trajectory | move_group | moveit_py | ur_rtde"),
    ("gripper_backend", "robotiq_action", "robotiq_action | robotiq_socket | none"),
    ("gripper_action_type", "gripper_command", "gripper_command (control_msgs/GripperCommand, gripper_action_controller) or parallel_gripper_command (ParallelGripperCommand)"),
    ("policy", "geometric", "policy backend: geometric, onnx, spatialbot, transformers, openai, magma"),
    ("model_dir", "", "model directory for the onnx / VLM backends (empty: shipped / configured)"),
    ("backend_config", "", "per-backend options file (config/policy_backends.yaml)"),
    ("calibration_file", "", "hand-eye calibration YAML from `spatialbot-ros calibrate` (required on real hardware)"),
    ("launch_rviz", "true", "start RViz with config/spatialbot.rviz"),
    ("teleop", "false", "shared autonomy: Twist on /cmd_vel or Joy on /joy (deadman) takes over goals (docs/teleop.md)"),
    ("collect_dir", "", "record every goal as an episode of a LeRobot v3 dataset here (empty: off)"),
    ("collect_rosbag", "false", "also one rosbag2 (MCAP) bag per goal under collect_dir/rosbag"),
]


def fixed_camera_calibration(calibration_file: str) -> bool:
    """Whether the calibration (if any) is of a fixed camera, given in the base frame. An eye-in-hand
    one (tool0) is pick_place's alone: spatial_policy grounds with a fixed camera, so it is not started."""
    if not calibration_file:
        return True
    return read_calibration_yaml(calibration_file).parent_frame == "base"  # a bad file: ValueError naming it


def _our_nodes(context: object) -> list:
    value = {name: LaunchConfiguration(name).perform(context) for name, _, _ in ARGUMENTS}  # type: ignore[arg-type]
    share = FindPackageShare("spatialbot_ros").perform(context)  # type: ignore[arg-type]
    config = f"{share}/config"
    calibration = [value["calibration_file"]] if value["calibration_file"] else []
    real = value["use_mock_hardware"].lower() != "true"
    policy = {"policy": value["policy"], "model_dir": value["model_dir"], "backend_config": value["backend_config"]}
    controller = value["controller"]
    actions: list = []
    if value["use_moveit"].lower() == "true" and controller != MOVEIT_CONTROLLER:
        actions.append(LogInfo(msg=f"use_moveit: MoveIt executes on {MOVEIT_CONTROLLER}; using it instead of {controller}"))
        controller = MOVEIT_CONTROLLER
    pick_place_overrides = {
        **policy, "ur_type": value["ur_type"], "motion_backend": value["motion_backend"],
        "gripper_backend": value["gripper_backend"], "gripper_action_type": value["gripper_action_type"],
        "controller_name": controller, "robot_ip": value["robot_ip"], "require_calibration": real,
        "teleop.enabled": value["teleop"].lower() == "true", "collect.dir": value["collect_dir"],
        "collect.rosbag": value["collect_rosbag"].lower() == "true",
    }
    actions += [
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(PathJoinSubstitution([FindPackageShare("ur_robot_driver"), "launch",
                                                                "ur_control.launch.py"])),
            launch_arguments={"ur_type": value["ur_type"], "robot_ip": value["robot_ip"],
                              "use_mock_hardware": value["use_mock_hardware"],
                              "initial_joint_controller": controller, "launch_rviz": "false"}.items()),
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(PathJoinSubstitution([FindPackageShare("realsense2_camera"), "launch",
                                                                "rs_launch.py"])),
            launch_arguments={"serial_no": value["camera_serial"], "align_depth.enable": "true",
                              "rgb_camera.color_format": "RGB8", "publish_tf": "false"}.items()),
        # the path to ur_moveit_config is only looked up when use_moveit is true
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(PathJoinSubstitution([FindPackageShare("ur_moveit_config"), "launch",
                                                                "ur_moveit.launch.py"])),
            condition=IfCondition(value["use_moveit"]),
            launch_arguments={"ur_type": value["ur_type"], "launch_rviz": "false"}.items()),
        Node(package="spatialbot_ros", executable="spatial_policy", name="spatial_policy", output="screen",
             parameters=[f"{config}/spatial_policy.yaml", *calibration, policy], on_exit=Shutdown())
        if fixed_camera_calibration(value["calibration_file"]) else
        LogInfo(msg="eye-in-hand calibration: spatial_policy (fixed-camera grounding) is not started; "
                "pick_place grounds with the wrist camera's pose at each frame"),
        Node(package="spatialbot_ros", executable="pick_place", name="pick_place", output="screen",
             parameters=[f"{config}/pick_place.yaml", *calibration, pick_place_overrides], on_exit=Shutdown()),
        Node(package="rviz2", executable="rviz2", name="rviz2", output="log",
             arguments=["-d", f"{config}/spatialbot.rviz"], condition=IfCondition(value["launch_rviz"])),
    ]
    return actions


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=text) for name, default, text in ARGUMENTS]
        + [*[SetEnvironmentVariable(var, PathJoinSubstitution([FindPackageShare("spatialbot_ros"), "config", "fastdds.xml"]))
             for var in ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")],  # = spatialbot_ros.dds_env
           OpaqueFunction(function=_our_nodes)])
