"""pick_place's parameters: one table (default, description, whether it may change at run time),
declared with descriptions, and their conversion to the settings the motion path, the safety
checker and the executive take.

Parameters that are read once at start (names, backends, limits, frames) are declared read-only,
so `ros2 param set` refuses them instead of accepting a value nothing re-reads; the few that are
applied per goal are validated by a parameter callback."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult

from spatialbot_ros.core.safety import SafetyLimits


@dataclass(frozen=True)
class Param:
    default: Any
    text: str
    dynamic: bool = False  # applied at the next goal; validated by the callback


LIMITS = SafetyLimits()

PARAMS: dict[str, Param] = {
    # camera
    "color_topic": Param("/camera/camera/color/image_raw", "colour image (rgb8/bgr8)"),
    "depth_topic": Param("/camera/camera/aligned_depth_to_color/image_raw", "depth aligned to colour (16UC1 mm)"),
    "info_topic": Param("/camera/camera/color/camera_info", "colour camera info"),
    "sync_slop_s": Param(0.01, "max stamp difference between colour, depth and info"),
    "camera_extrinsics.xyz": Param([1.15, 0.0, 0.62], "camera optical frame position in the base frame (m); "
                                   "from the calibration file on a real cell"),
    "camera_extrinsics.quat_xyzw": Param([0.650041, 0.650041, -0.278293, -0.278293],
                                         "camera optical frame orientation in the base frame (x, y, z, w)"),
    "camera_extrinsics.parent_frame": Param("base", "frame the extrinsics are given in"),
    "camera_extrinsics.child_frame": Param("camera_color_optical_frame", "the camera's colour optical frame"),
    "calibration.mode": Param("", "set by a calibration file (eye_to_hand / eye_in_hand); empty: no calibration loaded"),
    "require_calibration": Param(False, "refuse to start unless a calibration file set the extrinsics "
                                 "(the real-cell launch sets it when use_mock_hardware is false)"),
    "publish_camera_tf": Param(True, "publish parent_frame -> child_frame on /tf_static"),
    "extrinsics_from_tf": Param(False, "take the camera pose from TF at each goal instead (needs tf2_ros; "
                                "then publish_camera_tf should be false)"),
    "target_frame": Param("spatialbot_target", "TF frame of the grounded pick target (on /tf)"),
    "grasp_frame": Param("spatialbot_grasp", "TF frame of the planned grasp pose (on /tf)"),
    # goals and results
    "action_name": Param("/pick_place", "spatialbot_interfaces/PickPlace action (when the package is built)"),
    "policy_step_topic": Param("/pick_place/policy_step", "spatialbot_interfaces/PolicyStep per executed step (when built)"),
    "goal_topic": Param("/pick_place/goal", "goals: JSON {id, instruction, pick_only} or plain text"),
    "cancel_topic": Param("/pick_place/cancel", "goal id to cancel (empty: the running goal)"),
    "feedback_topic": Param("/pick_place/feedback", "JSON per step: id, phase, step, detail"),
    "result_topic": Param("/pick_place/result", "JSON: id, succeeded, failure_reason, message, explanation"),
    "max_instruction_chars": Param(2000, "longer instructions are refused as bad_input"),
    # safety: arming, e-stop, watchdogs, limits
    "real_hardware": Param(True, "true: dry-run (validate and preview, send nothing) until armed through arm_service"),
    "arm_service": Param("/pick_place/arm", "std_srvs/SetBool: arm (true) or disarm (false) the robot"),
    "estop_topic": Param("/spatialbot/estop", "std_msgs/Bool true engages the latched e-stop"),
    "estop_state_topic": Param("/spatialbot/estop_state", "latched std_msgs/Bool e-stop state"),
    "reset_estop_service": Param("/spatialbot/reset_estop", "std_srvs/Trigger: clear the e-stop (does not re-arm)"),
    "armed_state_topic": Param("/pick_place/armed", "latched std_msgs/Bool: is the robot armed"),
    "preview_topic": Param("/pick_place/planned_trajectory", "trajectory_msgs/JointTrajectory of every planned motion"),
    "preview_markers_topic": Param("/pick_place/planned_path", "visualization_msgs/MarkerArray: the planned TCP path"),
    "frame_timeout_s": Param(1.0, "camera watchdog: stop the arm and abort with stale_frame when frames stop "
                             "for longer during a goal", dynamic=True),
    "joint_states_timeout_s": Param(0.5, "joint-state watchdog: stop the arm when /joint_states stop for longer"),
    "robot_wait_s": Param(10.0, "right after start, a goal waits this long for the first joint states (else "
                          "robot_not_ready) and camera frames (else stale_frame)"),
    "safety.workspace_min_m": Param(list(LIMITS.workspace_min_m), "TCP workspace box, lower corner (base frame, m)"),
    "safety.workspace_max_m": Param(list(LIMITS.workspace_max_m), "TCP workspace box, upper corner (base frame, m)"),
    "safety.max_step_translation_m": Param(LIMITS.max_step_translation_m, "largest policy step (m)"),
    "safety.max_step_rotation_rad": Param(LIMITS.max_step_rotation_rad, "largest policy rotation step (rad)"),
    "safety.max_tcp_speed_m_s": Param(LIMITS.max_tcp_speed_m_s, "TCP speed limit along every planned path (m/s)"),
    "safety.max_joint_speed_rad_s": Param(LIMITS.max_joint_speed_rad_s, "joint speed limit along every plan (rad/s)"),
    # executive
    "speed_scale": Param(0.5, "fraction (0, 1] of the speed limits the executive moves at", dynamic=True),
    "observe_tcp_xyz": Param([0.42, 0.0, 0.35], "TCP position (base frame) the arm perceives from, pointing down"),
    # robot and motion path
    "ur_type": Param("ur5", "ur5 or ur5e (DH table for IK)"),
    "arm_model": Param("", "arm kinematics (core.kinematics): '' = the UR of ur_type; panda = ManiSkill's Franka "
                       "Panda (motion_backend ros_topics)"),
    "tcp_offset_m": Param(0.128, "TCP (fingertip centre) along tool0 z (m): Robotiq 2F-85 pads on a coupling"),
    "base_frame": Param("base", "robot base frame (the UR controller's base; ur_description's base_link is turned by pi)"),
    "joint_states_topic": Param("/joint_states", "joint states of the arm and the gripper"),
    "motion_backend": Param("joint_trajectory", "joint_trajectory | move_group | moveit_py | ur_rtde | ros_topics (mujoco_sim)"),
    "controller_name": Param("scaled_joint_trajectory_controller",
                             "FollowJointTrajectory controller (only the scaled one honours the pendant's slider and pause)"),
    "speed_scaling_topic": Param("/speed_scaling_state_broadcaster/speed_scaling", "driver speed scaling (percent)"),
    "program_running_topic": Param("/io_and_status_controller/robot_program_running", "latched Bool: external control program running"),
    "trajectory_topic": Param("/joint_trajectory_controller/joint_trajectory", "ros_topics backend: JTC topic interface"),
    "robot_ip": Param("", "ur_rtde backend and robotiq_socket gripper: the controller's IP"),
    "moveit.planning_group": Param("ur_manipulator", "MoveIt planning group"),
    "moveit.planning_frame": Param("base_link", "MoveIt planning frame"),
    "moveit.velocity_scaling": Param(0.1, "MoveIt max_velocity_scaling_factor (times speed_scale; never 0)"),
    "moveit.acceleration_scaling": Param(0.1, "MoveIt max_acceleration_scaling_factor (times speed_scale; never 0)"),
    # gripper
    "gripper_backend": Param("robotiq_action", "robotiq_action | robotiq_socket | topic (mujoco_sim) | none"),
    "gripper_action_name": Param("/robotiq_gripper_controller/gripper_cmd", "Robotiq gripper action"),
    "gripper_action_type": Param("gripper_command", "gripper_command (control_msgs/GripperCommand, gripper_action_controller) or parallel_gripper_command (ParallelGripperCommand)"),
    "gripper_joint": Param("robotiq_85_left_knuckle_joint", "gripper joint in /joint_states the finger width is read from"),
    "gripper_max_effort_n": Param(60.0, "gripper closing effort (N)"),
    "gripper_topic": Param("/gripper/opening_command", "topic gripper: std_msgs/Float64 opening (m)"),
    "finger_joints": Param(["left_finger_joint", "right_finger_joint"],
                           "topic gripper: finger joints in /joint_states; the opening is the sum of their positions"),
    "gripper_max_opening_m": Param(0.085, "topic gripper: full opening (m) sent for OPEN"),
    # policy
    "policy": Param("geometric", "policy backend: geometric, onnx, spatialbot, transformers, openai, magma"),
    "model_dir": Param("", "onnx: trained model directory (empty = shipped); VLM backends: model directory or hub id"),
    "backend_config": Param("", "YAML with a section of options per backend (config/policy_backends.yaml)"),
    # teleop-assisted collection (docs/teleop.md)
    "teleop.enabled": Param(False, "shared autonomy: an operator takes over any goal from Twist/Joy and hands back (same safety gate)"),
    "teleop.twist_topic": Param("/cmd_vel", "geometry_msgs/Twist operator input ('' = none; /spacenav/twist for spacenav)"),
    "teleop.twist_stamped_topic": Param("", "geometry_msgs/TwistStamped operator input ('' = none)"),
    "teleop.joy_topic": Param("/joy", "sensor_msgs/Joy operator input with a deadman button ('' = none; /spacenav/joy)"),
    "teleop.frame": Param("base", "frame of the operator's twists: base (robot base) or tool (TCP)"),
    "teleop.max_linear_mps": Param(0.1, "operator TCP speed limit (m/s; the safety limits still apply)"),
    "teleop.max_angular_rps": Param(0.5, "operator TCP turn-rate limit (rad/s)"),
    "teleop.hand_back_idle_s": Param(1.0, "this long without operator input hands control back to the policy (s)"),
    "collect.dir": Param("", "record every goal as an episode of a LeRobot v3 dataset in this directory ('' = off)"),
    "collect.rosbag": Param(False, "also one rosbag2 (MCAP) bag per goal under collect.dir/rosbag"),
}


def declare(node: Any, defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Declare every parameter (read-only unless dynamic) and return the values; defaults replaces
    the default value of the parameters it names (same type)."""
    defaults = dict(defaults or {})
    unknown = set(defaults) - set(PARAMS)
    if unknown:
        raise ValueError(f"defaults for undeclared parameters: {sorted(unknown)}")
    for name, p in PARAMS.items():
        default = defaults.get(name, p.default)
        if type(default) is not type(p.default):
            raise TypeError(f"default for {name} must be {type(p.default).__name__}, got {default!r}")
        node.declare_parameter(name, default, ParameterDescriptor(description=p.text, read_only=not p.dynamic))
    return {name: node.get_parameter(name).value for name in PARAMS}


def check_dynamic(name: str, value: Any) -> str:
    """'' when value is acceptable for a run-time change of parameter `name`, else why not."""
    if name in ("speed_scale", "frame_timeout_s"):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            return f"{name} must be a finite number"
        if name == "speed_scale" and not 0.0 < value <= 1.0:
            return "speed_scale must be in (0, 1]"
        if name == "frame_timeout_s" and not 0.0 < value <= 10.0:
            return "frame_timeout_s must be in (0, 10] s"
        return ""
    return f"{name} cannot change at run time (restart the node with a new value)"


def on_set_parameters(params: list[Any]) -> SetParametersResult:
    """rclpy parameter callback: refuse, with the reason, anything check_dynamic refuses."""
    for p in params:
        reason = check_dynamic(p.name, p.value)
        if reason:
            return SetParametersResult(successful=False, reason=reason)
    return SetParametersResult(successful=True)


def teleop_config(p: dict[str, Any]) -> Any:
    from spatialbot_ros.core.teleop import TeleopConfig, TeleopFrame

    try:
        return TeleopConfig(frame=TeleopFrame(p["teleop.frame"]), max_linear_mps=float(p["teleop.max_linear_mps"]),
                            max_angular_rps=float(p["teleop.max_angular_rps"]))
    except ValueError as exc:
        raise ValueError(f"teleop parameters: {exc}") from exc


def safety_limits(p: dict[str, Any]) -> SafetyLimits:
    prefix = "safety."
    return SafetyLimits.from_dict({k[len(prefix):]: v for k, v in p.items() if k.startswith(prefix)})


def validate_start(p: dict[str, Any]) -> None:
    """Refusals at start, each naming the parameter."""
    if p["require_calibration"] and not p["calibration.mode"]:
        raise ValueError("require_calibration: no calibration loaded; run `spatialbot-ros calibrate` and pass "
                         "calibration_file:=<file> (real hardware never runs on default camera extrinsics)")
    if p["calibration.mode"] not in ("", "eye_to_hand", "eye_in_hand"):
        raise ValueError(f"calibration.mode {p['calibration.mode']!r}: expected eye_to_hand or eye_in_hand")
    if p["calibration.mode"] == "eye_in_hand" and p["camera_extrinsics.parent_frame"] != "tool0":
        raise ValueError(f"calibration.mode eye_in_hand: camera_extrinsics.parent_frame must be tool0 (a wrist "
                         f"camera's pose is tool0_from_camera), got {p['camera_extrinsics.parent_frame']!r}")
    for name in ("frame_timeout_s", "joint_states_timeout_s", "robot_wait_s", "sync_slop_s", "tcp_offset_m"):
        if not (isinstance(p[name], (int, float)) and math.isfinite(p[name]) and p[name] > 0):
            raise ValueError(f"parameter {name} must be a positive number, got {p[name]!r}")
    if check_dynamic("speed_scale", p["speed_scale"]):
        raise ValueError(check_dynamic("speed_scale", p["speed_scale"]))
    from spatialbot_ros.core.kinematics import arm_kinematics

    arm_kinematics(p["arm_model"] or p["ur_type"])  # a ValueError naming the models
    if not (isinstance(p["gripper_max_opening_m"], (int, float)) and 0.0 < p["gripper_max_opening_m"] <= 0.3):
        raise ValueError(f"parameter gripper_max_opening_m must be in (0, 0.3] m, got {p['gripper_max_opening_m']!r}")
    if len(p["observe_tcp_xyz"]) != 3:
        raise ValueError("parameter observe_tcp_xyz must be 3 numbers")
    if int(p["max_instruction_chars"]) < 1:
        raise ValueError("parameter max_instruction_chars must be >= 1")
    if p["teleop.frame"] not in ("base", "tool"):
        raise ValueError(f"parameter teleop.frame must be base or tool, got {p['teleop.frame']!r}")
    if p["teleop.enabled"]:
        teleop_config(p)  # the speeds: a ValueError naming the field
